#!/usr/bin/env node
// Holds COUNT TCP connections from address FROM to 127.0.0.1:PORT (at most 200 being opened at a time) for
// SECONDS, then closes them all and exits; prints how many the server kept open. One source trying to take
// every TCP slot of bench/adversarial.sh's server while UDP is measured.
// Usage: node bench/tcp-hold.mjs PORT FROM COUNT SECONDS
import { connect } from 'node:net';

const [portArg, from = '127.0.0.2', countArg = '5000', secondsArg = '10'] = process.argv.slice(2);
const port = Number(portArg);
const sockets = [];
for (let i = 0; i < Number(countArg); i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(i + 200, Number(countArg)); j++) {
    const s = connect({ host: '127.0.0.1', port, localAddress: from });
    s.on('error', () => {});
    sockets.push(s);
    batch.push(new Promise((done) => (s.once('connect', done), s.once('close', done))));
  }
  await Promise.all(batch);
}
await new Promise((r) => setTimeout(r, 300));
process.stderr.write(`tcp-hold: ${sockets.filter((s) => !s.destroyed).length} of ${countArg} connections open\n`);
setTimeout(
  () => {
    for (const s of sockets) s.destroy();
  },
  Number(secondsArg) * 1000,
);
