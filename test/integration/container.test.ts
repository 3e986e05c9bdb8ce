/**
 * The Docker image, built from the real Dockerfile with podman and run as an operator would: runs
 * scripts/container-test.sh (see its header for every step) and checks its exit code and each printed check.
 * The base image is used when present and pulled when not; only where the pull fails is it built with the kit
 * that DANE_NS_BASE_KIT names (see the script's header). A missing tool (podman, buildah, runc, kdig, unbound,
 * openssl), or a base image that can be neither pulled nor built, makes the script print FAIL and exit 1: a
 * failure here, never a skip. Runs as root (CI's .ci/run does).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/server.js';

/** The script's own steps are bounded; this is the outer limit (a first build of the base image takes minutes). */
const LIMIT_MS = 25 * 60_000;

function runScript(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('bash', [join(REPO_ROOT, 'scripts', 'container-test.sh')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGTERM'), LIMIT_MS - 30_000); // SIGTERM: the script's trap cleans up
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('Docker image (podman)', () => {
  it(
    'builds, serves signed answers that a validating Unbound accepts, follows a rotated certificate, reloads on SIGHUP, is healthy, runs as 65532 and stops on SIGTERM within seconds',
    async () => {
      const { code, out } = await runScript();
      process.stdout.write(`--- scripts/container-test.sh ---\n${out}`);
      const lines = out.split('\n');
      const check = (re: RegExp): void =>
        void expect(
          lines.some((l) => re.test(l)),
          `${re} in:\n${out}`,
        ).toBe(true);
      expect(
        lines.filter((l) => l.startsWith('FAIL')),
        out,
      ).toEqual([]);
      expect(code, out).toBe(0);
      check(/^ok {3}base image node:\d+-[a-z]+-slim (present|pulled|made with make-node-base\.sh)/);
      check(/^ok {3}podman build \S+ in \d+ s, image size \d+ MB$/);
      check(/^ok {3}image HEALTHCHECK: .*"dane-ns","healthcheck"/);
      check(/^ok {3}kdig \+dnssec example\.net\. SOA: answer with RRSIG \d+ ms after podman run$/);
      check(/^ok {3}native batched UDP engine in use/);
      check(/^ok {3}keys written to the \/keys volume, owned by UID 65532/);
      check(
        /^ok {3}validating Unbound \(anchor from podman exec dane-ns ds\): _25\._tcp\.mail\.example\.net\. TLSA secure \(AD\)/,
      );
      check(/^ok {3}certificate rotated in \/certs: new TLSA served \d+ ms later/);
      check(/^ok {3}old TLSA retired \d+ ms after the rotation/);
      check(/^ok {3}validating Unbound: rotated TLSA secure \(AD\)$/);
      check(/^ok {3}podman kill --signal HUP: edited zone served$/);
      check(/^ok {3}podman healthcheck run: healthy/);
      check(/^ok {3}dane-ns healthcheck in the container: healthy: 1 zone\(s\)/);
      check(/^ok {3}PID 1 \(node --max-semi-space-size=4 \/app\/dist\/cli\.js serve ?\) runs as UID 65532$/);
      check(/^ok {3}podman stop -t 30: stopped in \d+ ms by SIGTERM, exit code 0$/);
      check(
        /^ok {3}defaults \(DANE_NS_LISTEN=0\.0\.0\.0:53,\[::\]:53\) as UID 65532 with --cap-add NET_BIND_SERVICE: healthy/,
      );
      check(/^ok {3}defaults without NET_BIND_SERVICE: exits 1 with 'bind EACCES'/);
      check(/^container-test: all checks passed/);
      const stop = /stopped in (\d+) ms/.exec(out);
      expect(Number(stop?.[1])).toBeLessThan(5000);
    },
    LIMIT_MS,
  );
});
