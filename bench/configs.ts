import * as fs from 'node:fs';
import * as path from 'node:path';

/** A MAC for phone number `i`: 12 upper-case hex digits, distinct for every i below 2^40. */
export function macFor(i: number, base = 0x0011_2200_0000): string {
  return (base + i).toString(16).toUpperCase().padStart(12, '0');
}

/**
 * A phone config shaped like CUCM's `SEP<MAC>.cnf.xml` (device, SIP profile, lines, vendor config, user
 * locale...), padded with further lines and speed dials to `size` bytes (a real one is 8 to 16 KB).
 */
export function phoneConfig(mac: string, size: number): string {
  const head = `<?xml version="1.0" encoding="UTF-8"?>
<device xsi:type="axl:XIPPhone" ctiid="${parseInt(mac.slice(-6), 16)}" uuid="{${mac.slice(0, 8)}-0000-4000-8000-${mac}}">
<fullConfig>true</fullConfig>
<deviceProtocol>SIP</deviceProtocol>
<sshUserId></sshUserId>
<ipAddressMode>0</ipAddressMode>
<allowAutoConfig>true</allowAutoConfig>
<devicePool uuid="{1b1b9eb6-7803-11d3-bdf0-00108302ead1}">
<revertPriority>0</revertPriority>
<name>Default</name>
<dateTimeSetting uuid="{9ec4850a-7748-11d3-bdf0-00108302ead1}">
<name>CMLocal</name>
<dateTemplate>M/D/Y</dateTemplate>
<timeZone>Central Standard/Daylight Time</timeZone>
</dateTimeSetting>
<callManagerGroup>
<name>Default</name>
<members>
<member priority="0">
<callManager>
<name>cucm-pub</name>
<ports><ethernetPhonePort>2000</ethernetPhonePort><sipPort>5060</sipPort><securedSipPort>5061</securedSipPort></ports>
<processNodeName>cucm-pub.example.net</processNodeName>
</callManager>
</member>
</members>
</callManagerGroup>
</devicePool>
<TVS><members><member priority="0"><port>2445</port><address>cucm-pub.example.net</address></member></members></TVS>
<capfAuthMode>0</capfAuthMode>
<capfList><capf><phonePort>3804</phonePort><processNodeName>cucm-pub.example.net</processNodeName></capf></capfList>
<loadInformation>sip88xx.14-2-1-0001-14</loadInformation>
<sipProfile>
<sipProxies><backupProxy></backupProxy><backupProxyPort></backupProxyPort><emergencyProxy></emergencyProxy></sipProxies>
<sipCallFeatures><cnfJoinEnabled>true</cnfJoinEnabled><callForwardURI>x-cisco-serviceuri-cfwdall</callForwardURI></sipCallFeatures>
<sipStack><sipInviteRetx>6</sipInviteRetx><sipRetx>10</sipRetx><timerInviteExpires>180</timerInviteExpires></sipStack>
<phoneLabel>SEP${mac}</phoneLabel>
<sipLines>
`;
  const tail = `</sipLines>
</sipProfile>
<userLocale><name>English_United_States</name><langCode>en_US</langCode><version>14.0.0.0(1)</version></userLocale>
<vendorConfig><disableSpeaker>false</disableSpeaker><webAccess>1</webAccess><sshAccess>1</sshAccess></vendorConfig>
</device>
`;
  let body = '';
  let line = 1;
  while (head.length + body.length + tail.length < size) {
    body += `<line button="${line}" lineIndex="${line}">
<featureID>9</featureID><featureLabel>${1000 + line} SEP${mac}</featureLabel><proxy>USECALLMANAGER</proxy><port>5060</port>
<name>${10000 + (line * 7919) % 89999}</name><displayName>Phone ${mac.slice(-4)} line ${line}</displayName>
<autoAnswer><autoAnswerEnabled>2</autoAnswerEnabled></autoAnswer><callWaiting>3</callWaiting><authName></authName>
<contact>${10000 + line}</contact><sharedLine>false</sharedLine><messageWaitingLampPolicy>3</messageWaitingLampPolicy>
</line>
`;
    line += 1;
  }
  return head + body + tail;
}

/** A deterministic pseudo-random size in [min, max] for phone i (no Math.random: runs compare). */
export function sizeFor(i: number, min = 8 * 1024, max = 16 * 1024): number {
  const x = Math.imul(i + 1, 2654435761) >>> 0;
  return min + (x % (max - min + 1));
}

/** Write `count` configs `SEP<MAC>.cnf.xml` into `dir` (in sub-folders of `perFolder` files when given). */
export function writePhoneConfigs(dir: string, count: number, options: { min?: number; max?: number; perFolder?: number; base?: number } = {}): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const mac = macFor(i, options.base);
    const sub = options.perFolder ? `batch${String(Math.floor(i / options.perFolder)).padStart(3, '0')}` : '';
    if (sub) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    const rel = sub ? `${sub}/SEP${mac}.cnf.xml` : `SEP${mac}.cnf.xml`;
    fs.writeFileSync(path.join(dir, rel), phoneConfig(mac, sizeFor(i, options.min, options.max)));
    names.push(rel);
  }
  return names;
}
