import { execFile } from 'node:child_process';
import { promises as fs, existsSync, readdirSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);

/**
 * A real PostgreSQL server for the tests, in a temp folder on a free loopback port: initdb, pg_ctl start, and
 * stop + remove. PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to the `postgres`
 * user (Debian's package creates it) and every server command runs through `runuser -u postgres`.
 * Password authentication over TCP (SCRAM), as a real deployment has it.
 */
export interface TestPostgres {
  /** postgres://openctl:PASSWORD@127.0.0.1:PORT/openctl */
  url: string;
  /** The same without the password, for PGPASSWORD tests. */
  urlWithoutPassword: string;
  password: string;
  port: number;
  /** A fresh empty database on the same server, as a URL with the password. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export function findPostgresBin(): string | undefined {
  if (process.env.PG_BIN && existsSync(path.join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return path.join(root, versions[0], 'bin');
  // Elsewhere (Fedora, Homebrew): initdb on the PATH, with pg_ctl and createdb beside it.
  const onPath = (process.env.PATH ?? '').split(path.delimiter).find((d) => d && existsSync(path.join(d, 'initdb')));
  return onPath;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found (apt-get install postgresql; or set PG_BIN)');
  const asRoot = process.getuid?.() === 0;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'openctl-pg-'));
  const data = path.join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const pwfile = path.join(dir, 'pw');
  await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await fs.chown(dir, Number(stdout.trim()), Number(gid.trim()));
    await fs.chown(pwfile, Number(stdout.trim()), Number(gid.trim()));
  }
  const as = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { cwd: dir }) : run(path.join(bin, cmd), args, { cwd: dir });

  await as('initdb', ['-D', data, '-U', 'openctl', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync']);
  let port = 0;
  for (let attempt = 0; ; attempt += 1) {
    port = await freePort();
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    try {
      await as('pg_ctl', ['start', '-D', data, '-w', '-t', '30', '-l', path.join(dir, 'log'), '-o', options]);
      break;
    } catch (err) {
      if (attempt >= 2) {
        const log = await fs.readFile(path.join(dir, 'log'), 'utf8').catch(() => '');
        throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`);
      }
    }
  }
  const base = `postgres://openctl:${password}@127.0.0.1:${port}`;
  await as('createdb', ['-h', dir, '-p', String(port), '-U', 'openctl', 'openctl']);
  return {
    url: `${base}/openctl`,
    urlWithoutPassword: `postgres://openctl@127.0.0.1:${port}/openctl`,
    password,
    port,
    async createDatabase(name: string) {
      await as('createdb', ['-h', dir, '-p', String(port), '-U', 'openctl', name]);
      return `${base}/${name}`;
    },
    async stop() {
      await as('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Inside a `describe`: a real PostgreSQL server started before its tests and stopped after them. Where the server
 * binaries are missing the block is skipped on a developer's machine, and fails in CI (which installs them).
 */
export function usePostgres(): () => TestPostgres {
  let pg: TestPostgres | undefined;
  before(async function () {
    if (!findPostgresBin()) {
      if (process.env.CI) throw new Error('PostgreSQL binaries missing');
      this.skip();
    }
    pg = await startPostgres();
  });
  after(async () => pg?.stop());
  return () => {
    if (!pg) throw new Error('PostgreSQL was not started');
    return pg;
  };
}
