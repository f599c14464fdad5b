import { createHash } from 'node:crypto';
import { findElement, indentElement } from './xml-snippet';

/** Elements the phone still needs before it can fetch and decrypt its real config: copied from the source. */
const COPIED = ['ipAddressMode', 'loadInformation', 'capfAuthMode', 'capfList'];

/**
 * The body of the signed stub `SEPxxx.cnf.xml.sgn` served beside `SEPxxx.cnf.xml.enc.sgn`: a short `<device>`
 * telling the phone that its config is encrypted for the certificate whose MD5 is `certHash`. Layout as the
 * vector's: XML declaration, two-space indentation, one element per line.
 */
export function buildEncryptedStub(sourceConfigXml: string, deviceCertificate: Buffer): string {
  const certHash = createHash('md5').update(deviceCertificate).digest('hex');
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<device>', '  <fullConfig>false</fullConfig>'];
  for (const name of COPIED) {
    const element = findElement(sourceConfigXml, name);
    if (element) lines.push(indentElement(element, 1));
  }
  lines.push(`  <certHash>${certHash}</certHash>`, '  <encrConfig>true</encrConfig>', '</device>', '');
  return lines.join('\n');
}
