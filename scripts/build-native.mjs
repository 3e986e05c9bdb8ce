#!/usr/bin/env node
// Builds the optional batched-UDP addon (native/, Linux only) with node-gyp.
// Optional by design: without a C toolchain (python3, make, g++) the server still runs, on node:dgram, and says
// so in its log. `npm test` requires the addon (its tests fail with this script's message when it is missing).
// Node's headers come from the Node installation itself (Debian's nodejs and official tarballs ship them), so
// nothing is downloaded; node-gyp is the copy bundled with npm.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const warn = (msg) => process.stderr.write(`build-native: ${msg}\n`);

if (process.platform !== 'linux') {
  warn(`skipped on ${process.platform}: the batched UDP engine is Linux-only; node:dgram is used`);
  process.exit(0);
}

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_execpath)
    candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  for (const npm of ['/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm'])
    candidates.push(join(npm, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => existsSync(c));
}

const gyp = findNodeGyp();
if (!gyp) {
  warn('node-gyp not found (it comes with npm); the server will use node:dgram for UDP');
  process.exit(0);
}
const prefix = dirname(dirname(realpathSync(process.execPath)));
// The production build: without the measurement-only modes (binding.gyp's udp_batch_measure, for the bench).
const args = [gyp, 'rebuild', '--directory', join(root, 'native'), '--udp_batch_measure=0'];
if (
  existsSync(join(prefix, 'include', 'node', 'node_api.h')) &&
  existsSync(join(prefix, 'include', 'node', 'common.gypi'))
)
  args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
if (r.status !== 0) {
  warn('could not build native/ (needs python3, make and g++: apt-get install python3 make g++);');
  warn('the server will use node:dgram for UDP. node-gyp said:');
  process.stderr.write((r.stdout + r.stderr).split('\n').slice(-15).join('\n') + '\n');
  process.exit(0);
}
process.stderr.write('build-native: native/build/Release/udp_batch.node built\n');
