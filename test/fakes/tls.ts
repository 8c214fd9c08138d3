import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway self-signed certificate (usable as its own CA) for the given DNS names, made at test
 * time with the openssl CLI so no private key is ever committed.
 */
export function selfSignedCert(dnsNames: string[]): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'runlane-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-nodes', '-days', '1',
        '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-subj', `/CN=${dnsNames[0] ?? 'test'}`,
        '-addext', `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}`,
        '-addext', 'basicConstraints=critical,CA:TRUE',
      ],
      { stdio: 'pipe' },
    );
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
