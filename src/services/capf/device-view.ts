import type { CapfDevice } from '../../store/capf';

/** A device as `capf device list --json` and the GUI's CAPF screen show it: never the password hash itself. */
export interface CapfDeviceSummary {
  device: string;
  operation: CapfDevice['operation'];
  auth: CapfDevice['auth'];
  key: CapfDevice['keySpec'];
  passwordSet: boolean;
  failures: CapfDevice['failures'];
  lscSerial: CapfDevice['lscSerial'];
  lscNotAfter: CapfDevice['lscNotAfter'];
  lastContact: CapfDevice['lastContact'];
  lastResult: CapfDevice['lastResult'];
}

export function deviceSummary(d: CapfDevice): CapfDeviceSummary {
  return {
    device: d.name,
    operation: d.operation,
    auth: d.auth,
    key: d.keySpec,
    passwordSet: d.passwordHash !== null,
    failures: d.failures,
    lscSerial: d.lscSerial,
    lscNotAfter: d.lscNotAfter,
    lastContact: d.lastContact,
    lastResult: d.lastResult,
  };
}
