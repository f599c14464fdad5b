import { Section } from '../components/basics';

interface ServiceInfo {
  title: 'TVS' | 'CAPF';
  port: number;
  what: string;
  start: string;
  more: string[];
  manages: string[];
}

const TVS: ServiceInfo = {
  title: 'TVS',
  port: 2445,
  what: 'The Trust Verification Service phones ask about certificates their CTL and ITL do not list (port 2445).',
  start: 'openctl tvs serve --db tvs.db --signer TVS.pem --listen 0.0.0.0:2445 --metrics 127.0.0.1:9445',
  more: ['openctl tvs add --db tvs.db CERT.pem --roles ccm-tftp --ttl 86400', 'openctl tvs add --db tvs.db --from CTLFile.tlv', 'openctl tvs list --db tvs.db'],
  manages: ['the TVS store: certificates added from a file, a trust list or a server\u2019s TLS certificate, with their roles and TTL', 'a running server\u2019s status'],
};

const CAPF: ServiceInfo = {
  title: 'CAPF',
  port: 3804,
  what: 'The Certificate Authority Proxy Function that installs, fetches and deletes phones\u2019 LSCs (port 3804).',
  start: 'openctl capf serve --db capf.db --signer CAPF.pem --issuer CA.pem --mic-ca MIC-CA.pem --out lsc --listen 0.0.0.0:3804',
  more: ['openctl capf device add --db capf.db SEP001122334455 --op install --auth mic', 'openctl capf device list --db capf.db'],
  manages: ['CAPF devices: scheduled install, fetch or delete, authentication mode, lockouts, issued LSCs and their expiry', 'a running server\u2019s status'],
};

/**
 * TVS and CAPF are served by openctl's own services (src/services), which this app does not reach yet: the screen
 * says so, and how to start the service from the CLI, rather than showing controls that would do nothing.
 */
function ServiceScreen({ info }: { info: ServiceInfo }) {
  const id = info.title.toLowerCase();
  return (
    <div class="screen">
      <h2 tabIndex={-1}>{info.title}</h2>
      <p class="muted">{info.what}</p>
      <Section title="Not available from the app yet" id={`${id}-unavailable`}>
        <p class="notice notice-info" data-testid={`${id}-unavailable`}>
          The {info.title} service is not available from the app yet. Start it from the command line on the server that phones reach on port {info.port}:
        </p>
        <pre class="command" data-testid={`${id}-start`}>
          <code>{info.start}</code>
        </pre>
        <p>Its store is managed with:</p>
        <pre class="command">
          <code>{info.more.join('\n')}</code>
        </pre>
        <p>
          See <code>openctl {id} --help</code> for its options. This screen will manage:
        </p>
        <ul>
          {info.manages.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      </Section>
    </div>
  );
}

export function TvsScreen() {
  return <ServiceScreen info={TVS} />;
}

export function CapfScreen() {
  return <ServiceScreen info={CAPF} />;
}
