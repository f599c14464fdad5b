import * as path from 'node:path';
import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { OpenctlError } from '../util/errors';
import { readTextInput } from '../util/read-input';
import { writeFileAtomic } from '../util/atomic-write';
import { isHashAlgorithm } from '../crypto/hash';
import type { ClusterConfig, ClusterServer } from './model';
import { ROLE_BY_NAME, roleOptionName } from './roles';
import schema from '../../schemas/cluster.schema.json';

interface ClusterJson {
  $schema?: string;
  name?: string;
  digest?: string;
  signerVersion?: '1.0' | '1.1';
  dnStyle?: 'comma' | 'cucm';
  sast?: string[];
  servers: Array<{
    name: string;
    dns?: string;
    ip?: string;
    certificates?: Array<{ role: string | number; cert: string }>;
    itlSigner?: string;
  }>;
}

let validator: ValidateFunction<ClusterJson> | undefined;
function validate(): ValidateFunction<ClusterJson> {
  validator ??= new Ajv({ allErrors: false, strict: false }).compile<ClusterJson>(schema);
  return validator;
}

const isUri = (spec: string) => spec.startsWith('pkcs11:');

export async function loadClusterFile(file: string): Promise<ClusterConfig> {
  const text = await readTextInput(file, { what: 'cluster file' });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new OpenctlError(`${file}: not JSON: ${(err as Error).message}`);
  }
  return clusterFromJson(json, file);
}

/** Validate and resolve a cluster document; `file` names it in errors and anchors relative paths. */
export function clusterFromJson(json: unknown, file: string): ClusterConfig {
  const check = validate();
  if (!check(json)) {
    const e = check.errors?.[0];
    const where = e?.instancePath || '/';
    throw new OpenctlError(`${file}: ${where}: ${e?.message ?? 'does not match the cluster schema'}`);
  }
  const base = path.dirname(path.resolve(file));
  const resolve = (spec: string) => (isUri(spec) ? spec : path.resolve(base, spec));
  const names = new Set<string>();
  const servers: ClusterServer[] = json.servers.map((s) => {
    if (names.has(s.name)) throw new OpenctlError(`${file}: /servers: the server name "${s.name}" is used twice`);
    names.add(s.name);
    return {
      name: s.name,
      dns: s.dns,
      ip: s.ip,
      certificates: (s.certificates ?? []).map((c) => ({
        role: typeof c.role === 'number' ? c.role : ROLE_BY_NAME[c.role],
        cert: resolve(c.cert),
      })),
      itlSigner: s.itlSigner === undefined ? undefined : resolve(s.itlSigner),
    };
  });
  const digest = json.digest;
  return {
    file: path.resolve(file),
    name: json.name,
    digest: digest !== undefined && isHashAlgorithm(digest) ? digest : undefined,
    signerVersion: json.signerVersion ? { major: 1, minor: json.signerVersion === '1.1' ? 1 : 0 } : undefined,
    dnStyle: json.dnStyle,
    sast: (json.sast ?? []).map(resolve),
    servers,
  };
}

/** Write a cluster file with paths relative to it, so the folder can move as a whole. */
export async function saveClusterFile(file: string, cluster: ClusterConfig, overwrite = true): Promise<void> {
  const base = path.dirname(path.resolve(file));
  const rel = (spec: string) => (isUri(spec) ? spec : path.relative(base, spec).split(path.sep).join('/'));
  const json: ClusterJson = {
    $schema: 'https://openctl.dev/schemas/cluster.schema.json',
    name: cluster.name,
    digest: cluster.digest,
    signerVersion: cluster.signerVersion ? (`1.${cluster.signerVersion.minor}` as '1.0' | '1.1') : undefined,
    dnStyle: cluster.dnStyle,
    sast: cluster.sast.map(rel),
    servers: cluster.servers.map((s) => ({
      name: s.name,
      dns: s.dns,
      ip: s.ip,
      certificates: s.certificates.map((c) => ({ role: roleOptionName(c.role), cert: rel(c.cert) })),
      itlSigner: s.itlSigner === undefined ? undefined : rel(s.itlSigner),
    })),
  };
  await writeFileAtomic(file, Buffer.from(`${JSON.stringify(json, null, 2)}\n`), { overwrite });
}
