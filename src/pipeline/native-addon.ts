/**
 * The raw interface of native-bindings/build/Release/openctl_native.node (native-bindings/src/addon.c). Only
 * native-core.ts talks to it; everything else uses the typed wrapper there.
 */

/** An opaque pool handle (a napi external). */
export interface RawPoolHandle {
  readonly __openctlNativePool: unique symbol;
}

export interface RawOpenOptions {
  modulePath: string;
  slotId?: number | bigint;
  tokenLabel?: string;
  tokenSerial?: string;
  keyId?: Uint8Array;
  keyLabel?: string;
  sessions: number;
  pin?: string;
}

export interface RawPoolInfo {
  handle: RawPoolHandle;
  slotId: number;
  tokenLabel: string;
  tokenSerial: string;
  tokenModel: string;
  keyBits: number;
  signatureLength: number;
  sessions: number;
}

export interface RawBatchResult {
  /** count * signatureLength bytes; item i at i * signatureLength. */
  signatures: Buffer;
  /** Signature length per item, 0 where it failed. */
  lengths: number[];
  /** CK_RV per item, present only when at least one item failed. */
  rvs?: number[];
}

/** Rejections of openPool carry the CK_RV: `code` is its name (e.g. CKR_PIN_INCORRECT). */
export interface RawCkError extends Error {
  code: string;
  rv: number;
  function?: string;
}

export interface RawAddon {
  openPool(options: RawOpenOptions): Promise<RawPoolInfo>;
  signBatch(
    handle: RawPoolHandle,
    inputs: readonly Uint8Array[] | Uint8Array,
    lengths: readonly number[] | Uint32Array | undefined,
    mechanism: number,
  ): Promise<RawBatchResult>;
  closePool(handle: RawPoolHandle): Promise<void>;
  syncfs(fd: number): Promise<void>;
  ckrName(rv: number): string;
}
