import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers/paths';

/** electron-builder's own configuration loading and schema validation (app-builder-lib), offline. */
interface ConfigApi {
  getConfig(projectDir: string, configPath: string | null, configFromOptions: unknown): Promise<Record<string, unknown>>;
  validateConfiguration(config: unknown, debugLogger: unknown): Promise<void>;
}

function builderApi(): { config: ConfigApi; DebugLogger: new (enabled: boolean) => unknown } {
  const from = { paths: [path.dirname(require.resolve('electron-builder/package.json', { paths: [REPO_ROOT] }))] };
  const config = require(require.resolve('app-builder-lib/out/util/config/config', from)) as ConfigApi;
  const { DebugLogger } = require(require.resolve('builder-util', from)) as { DebugLogger: new (enabled: boolean) => unknown };
  return { config, DebugLogger };
}

describe('gui: packaging (electron-builder configuration)', function () {
  this.timeout(60_000);

  it('passes electron-builder\'s own configuration validation', async () => {
    const { config, DebugLogger } = builderApi();
    const loaded = await config.getConfig(REPO_ROOT, null, null);
    await config.validateConfiguration(loaded, new DebugLogger(false));
    assert.equal(loaded.appId, 'dev.openctl.desktop');
  });

  it('the validation is real: it rejects a broken configuration', async () => {
    const { config, DebugLogger } = builderApi();
    const loaded = await config.getConfig(REPO_ROOT, null, null);
    await assert.rejects(config.validateConfiguration({ ...loaded, asar: 'yes' }, new DebugLogger(false)), /does not match the API schema/);
    await assert.rejects(config.validateConfiguration({ ...loaded, linux: { target: 'AppImage', noSuchOption: true } }, new DebugLogger(false)), /configuration\.linux/);
  });

  it('targets Windows, macOS and Linux, unpacks the native modules, and starts the Electron main process', async () => {
    const { config } = builderApi();
    const loaded = (await config.getConfig(REPO_ROOT, null, null)) as {
      win?: { target: string[] };
      mac?: { target: string[] };
      linux?: { target: string[] };
      asarUnpack: string[];
      extraMetadata: { main: string };
      npmRebuild: boolean;
      files: string[];
    };
    assert.ok(loaded.win?.target.includes('nsis'));
    assert.ok(loaded.mac?.target.includes('dmg'));
    assert.ok(loaded.linux?.target.includes('AppImage'));
    for (const pattern of ['**/*.node', 'node_modules/pkcs11js/**/*', 'native-bindings/build/Release/**']) {
      assert.ok(loaded.asarUnpack.includes(pattern), `asarUnpack has ${pattern}`);
    }
    assert.equal(loaded.npmRebuild, false, 'Node-API modules need no rebuild for Electron');
    assert.equal(loaded.extraMetadata.main, 'dist/electron/main/main.js');
    assert.ok(fs.existsSync(path.join(REPO_ROOT, loaded.extraMetadata.main)), 'the main entry is built');
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'electron', 'preload', 'preload.bundle.js')), 'the sandboxed preload is bundled');
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'electron', 'renderer', 'app.js')), 'the renderer is bundled');
  });
});
