import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { migrate, openServiceStore, openStore, schemaVersions, StoreError, type Database, type ServiceMigrations } from '../../src/store';
import { TVS_MIGRATIONS, TvsStore, sha256Hex } from '../../src/store/tvs';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { tempDir, tvsPki } from './fixture';

const put = (der: Buffer, roles: number[], ttl = 3600) => ({ certificate: der, roles, ttl, serial: '01', subject: 'CN=x', issuer: 'CN=x' });

/** The same behaviour from both drivers: what one store does, the other must. */
function storeContract(name: string, open: () => Promise<Database>) {
  describe(`${name}: the TVS store`, () => {
    let db: Database;
    let tvs: TvsStore;
    beforeEach(async () => {
      db = await open();
      await migrate(db, TVS_MIGRATIONS);
      tvs = new TvsStore(db);
    });
    afterEach(async () => db.close());

    it('adds, answers by SHA-256, updates roles and TTL on a second add, removes', async () => {
      const { app, ccm } = await tvsPki();
      assert.deepEqual(await tvs.put([put(app.certDer, [7, 1], 60)]), { added: [sha256Hex(app.certDer)], updated: [] });
      assert.deepEqual(await tvs.lookup(sha256Hex(app.certDer)), { roles: [1, 7], ttl: 60 });
      assert.equal(await tvs.lookup(sha256Hex(ccm.certDer)), undefined);
      assert.deepEqual(await tvs.put([put(app.certDer, [3], 120)]), { added: [], updated: [sha256Hex(app.certDer)] });
      assert.deepEqual(await tvs.lookup(sha256Hex(app.certDer)), { roles: [3], ttl: 120 });
      const [entry] = await tvs.list();
      assert.deepEqual(entry!.certificate, app.certDer, 'the certificate itself is kept byte for byte');
      assert.equal(await tvs.remove(sha256Hex(app.certDer)), true);
      assert.equal(await tvs.remove(sha256Hex(app.certDer)), false);
      assert.equal(await tvs.count(), 0);
    });

    it('refuses a TTL outside 1 s .. 30 days in the schema too, and writes nothing of that batch', async () => {
      const { app, ccm } = await tvsPki();
      await assert.rejects(tvs.put([put(ccm.certDer, [1]), put(app.certDer, [1], 2592001)]));
      assert.equal(await tvs.count(), 0, 'the whole batch is one transaction');
    });

    it('records a schema version per service, and migrating again changes nothing', async () => {
      assert.deepEqual(await schemaVersions(db), { tvs: 1 });
      assert.deepEqual(await migrate(db, TVS_MIGRATIONS), { from: 1, to: 1 });
    });

    it('lets another service register its own migrations without touching the TVS ones', async () => {
      const other: ServiceMigrations = {
        service: 'demo',
        migrations: [
          { version: 1, description: 'a table', up: 'CREATE TABLE demo_things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)' },
          { version: 2, description: 'a column', up: 'ALTER TABLE demo_things ADD COLUMN size INTEGER' },
          {
            version: 3,
            description: 'data',
            up: async (tx) => {
              await tx.run('INSERT INTO demo_things (id, name, size) VALUES (?, ?, ?)', [1, 'a', 3]);
            },
          },
        ],
      };
      assert.deepEqual(await migrate(db, other), { from: 0, to: 3 });
      assert.deepEqual(await schemaVersions(db), { demo: 3, tvs: 1 });
      assert.deepEqual(await db.all('SELECT name, size FROM demo_things'), [{ name: 'a', size: 3 }]);
    });

    it('refuses a store whose tables are newer than this openctl knows', async () => {
      await db.run("UPDATE openctl_schema SET version = 9 WHERE service = 'tvs'");
      await assert.rejects(migrate(db, TVS_MIGRATIONS), (e: unknown) => e instanceof StoreError && /schema version 9, this openctl knows up to 1: use a newer openctl/.test(e.message));
    });

    it('rolls back a failed migration step entirely', async () => {
      const broken: ServiceMigrations = {
        service: 'broken',
        migrations: [
          { version: 1, description: 'ok', up: 'CREATE TABLE broken_a (id INTEGER)' },
          { version: 2, description: 'fails', up: 'CREATE TABLE broken_a (id INTEGER)' },
        ],
      };
      await assert.rejects(migrate(db, broken));
      assert.equal((await schemaVersions(db)).broken, undefined);
      const tables = await db.all<{ n: number }>(
        db.dialect === 'sqlite' ? "SELECT count(*) AS n FROM sqlite_master WHERE name = 'broken_a'" : "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'broken_a'",
      );
      assert.equal(Number(tables[0]!.n), 0);
    });

    it('two stores migrating and writing at once end consistent (busy is retried, not an error)', async () => {
      const { app, ccm, stranger } = await tvsPki();
      const second = await open();
      try {
        await Promise.all([migrate(second, TVS_MIGRATIONS), migrate(db, TVS_MIGRATIONS)]);
        const other = new TvsStore(second);
        await Promise.all([
          ...Array.from({ length: 20 }, (_, i) => tvs.put([put(app.certDer, [1], 100 + i)])),
          ...Array.from({ length: 20 }, (_, i) => other.put([put(ccm.certDer, [2], 200 + i)])),
          other.put([put(stranger.certDer, [7])]),
        ]);
        assert.equal(await tvs.count(), 3);
        assert.equal(await other.count(), 3);
      } finally {
        await second.close();
      }
    });
  });
}

describe('store', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await tempDir('openctl-store-');
  });
  after(async () => fs.rm(dir, { recursive: true, force: true }));

  describe('SQLite (real files)', () => {
    // Every test of the contract gets a fresh file; both connections of one test share it.
    let n = 0;
    let file = '';
    beforeEach(() => {
      file = path.join(dir, `s${++n}.db`);
    });
    storeContract('SQLite', () => openStore(file));
  });

  describe('SQLite files', () => {
    it('creates the file on first use, readable by its owner only, in WAL mode', async () => {
      const file = path.join(dir, 'new.db');
      const db = await openServiceStore(file, [TVS_MIGRATIONS]);
      await db.close();
      const st = await fs.stat(file);
      assert.equal(st.mode & 0o777, 0o600);
      const raw = new BetterSqlite3(file, { readonly: true });
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      raw.close();
    });

    it('refuses what is not a store: a text file, a folder, a FIFO, a missing folder, one line naming it', async () => {
      const text = path.join(dir, 'notes.txt');
      await fs.writeFile(text, 'hello, this is not a database at all'.repeat(50));
      await assert.rejects(openStore(text), (e: unknown) => e instanceof StoreError && e.message === `${text}: not a SQLite database`);
      await assert.rejects(openStore(dir), (e: unknown) => e instanceof StoreError && /is a folder/.test(e.message));
      const fifo = path.join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      await assert.rejects(openStore(fifo), (e: unknown) => e instanceof StoreError && /not a regular file/.test(e.message));
      await assert.rejects(openStore(path.join(dir, 'no', 'such', 'x.db')), (e: unknown) => e instanceof StoreError && /folder does not exist/.test(e.message));
      await assert.rejects(openStore('mysql://host/db'), (e: unknown) => e instanceof StoreError && /unknown store URL/.test(e.message));
    });

    it('keeps answering lookups while another process holds a write transaction (WAL), and writes once it ends', async () => {
      const { app, ccm } = await tvsPki();
      const file = path.join(dir, 'locked.db');
      const db = await openServiceStore(file, [TVS_MIGRATIONS], { busyBudgetMs: 15_000 });
      const tvs = new TvsStore(db);
      await tvs.put([put(app.certDer, [1])]);
      // Another process takes the write lock for 1.5 s.
      const holder = spawn(process.execPath, [
        '-e',
        `const D=require(${JSON.stringify(require.resolve('better-sqlite3'))});const d=new D(${JSON.stringify(file)});d.exec('BEGIN IMMEDIATE');d.exec("INSERT INTO openctl_schema VALUES ('lockholder',1,'x','x')");console.log('locked');setTimeout(()=>{d.exec('COMMIT');d.close();console.log('released')},1500);`,
      ]);
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const started = Date.now();
      assert.deepEqual(await tvs.lookup(sha256Hex(app.certDer)), { roles: [1], ttl: 3600 }, 'reads are not blocked');
      assert.ok(Date.now() - started < 500);
      await tvs.put([put(ccm.certDer, [2])]); // retried until the lock is released
      assert.ok(Date.now() - started >= 1000, 'the write waited for the lock');
      assert.equal(await tvs.count(), 2);
      await new Promise((resolve) => holder.once('close', resolve));
      await db.close();
    });

    it('gives up on a store locked for longer than its budget with a clear, transient error', async () => {
      const { app } = await tvsPki();
      const file = path.join(dir, 'stuck.db');
      const db = await openServiceStore(file, [TVS_MIGRATIONS], { busyBudgetMs: 300 });
      const other = new BetterSqlite3(file);
      other.exec('BEGIN IMMEDIATE');
      await assert.rejects(new TvsStore(db).put([put(app.certDer, [1])]), (e: unknown) => e instanceof StoreError && e.transient && /busy|locked/.test(e.message));
      other.exec('ROLLBACK');
      other.close();
      await db.close();
    });
  });

  describe('PostgreSQL (a real server)', () => {
    let pg: TestPostgres;
    let dbCount = 0;
    before(async () => {
      pg = await startPostgres();
    });
    after(async () => pg?.stop());

    // Every test of the contract gets a fresh database; both connections of one test share it.
    let current = '';
    beforeEach(async () => {
      current = await pg.createDatabase(`t${++dbCount}`);
    });
    storeContract('PostgreSQL', () => openStore(current));

    it('reads the password from PGPASSWORD and never prints it', async () => {
      const saved = process.env.PGPASSWORD;
      process.env.PGPASSWORD = pg.password;
      try {
        const db = await openServiceStore(pg.urlWithoutPassword, [TVS_MIGRATIONS]);
        assert.equal(db.description, pg.urlWithoutPassword);
        await db.close();
      } finally {
        if (saved === undefined) delete process.env.PGPASSWORD;
        else process.env.PGPASSWORD = saved;
      }
      const withPassword = await openStore(pg.url);
      assert.ok(!withPassword.description.includes(pg.password));
      await withPassword.close();
    });

    it('a wrong password or a stopped server is one clear line, without the password', async () => {
      const wrong = pg.url.replace(pg.password, 'not-the-password');
      await assert.rejects(openStore(wrong, { busyBudgetMs: 200 }), (e: unknown) => e instanceof StoreError && /password authentication failed/.test(e.message) && !e.message.includes('not-the-password'));
      const closed = `postgres://openctl:${pg.password}@127.0.0.1:1/openctl`;
      await assert.rejects(openStore(closed, { busyBudgetMs: 200 }), (e: unknown) => e instanceof StoreError && e.transient && /cannot reach the server \(ECONNREFUSED/.test(e.message) && !e.message.includes(pg.password));
    });
  });
});
