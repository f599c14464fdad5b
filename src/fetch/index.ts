/** Downloading what a phone downloads: TFTP (RFC 1350, port 69) and CUCM's HTTP port 6970, plus test servers. */
export { tftpGet, TftpError, TFTP_PORT, MAX_DOWNLOAD_BYTES, type TftpGetOptions } from './tftp-client';
export { httpGet, HttpFetchError, CUCM_HTTP_PORT, type HttpGetOptions } from './http-client';
export {
  fetchFile,
  fetchFiles,
  fetchUrl,
  isFetchUrl,
  normalizeMac,
  phoneFileNames,
  type FetchAttempt,
  type FetchOutcome,
  type FetchSettings,
  type Transport,
} from './fetch';
export { startTftpServer, type TftpServerOptions, type RunningTftpServer } from './tftp-server';
export { startHttpFileServer, type HttpFileServerOptions, type RunningHttpServer } from './http-server';
