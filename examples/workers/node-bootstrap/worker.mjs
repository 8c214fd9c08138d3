#!/usr/bin/env node
// Runlane bootstrap worker: the "First Worker" connectivity check.
//
// Calls GET /health, GET /auth/whoami and GET /readiness on the Runlane agents API
// with an account token and prints a short report. Exit code 0 means all three calls
// succeeded; 1 means something failed, with one explanatory line on stderr.
//
// Plain ESM JavaScript for Node >= 18 (global fetch). No dependencies.

import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const STEPS = ['/health', '/auth/whoami', '/readiness'];
const PLACEHOLDER_TOKEN = 'replace-with-token';
const DEFAULT_TIMEOUT_MS = 15000;
const MAX_TIMEOUT_MS = 2147483647; // setTimeout's upper bound

/** A failure we expect and explain: `message` is the one line written to stderr. */
class WorkerError extends Error {
  constructor(message, detail) {
    super(message);
    this.detail = detail;
  }
}

// ---------------------------------------------------------------------------
// .env loading

/**
 * Reads KEY=VALUE lines from `.env` next to this file. Variables that already exist
 * in the environment (even as empty strings) win, so `FOO= node worker.mjs` and
 * values exported by run-worker.sh are never overridden.
 */
function loadDotEnv(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return; // no .env: rely on the environment alone
  }
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1];
    let value = match[2];
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
    } else {
      // Unquoted: allow a trailing " # comment".
      value = value.replace(/\s+#.*$/, '').trim();
    }
    if (!Object.prototype.hasOwnProperty.call(process.env, key)) process.env[key] = value;
  }
}

// ---------------------------------------------------------------------------
// Configuration

function readConfig(env) {
  const baseUrl = (env.BASE_URL ?? '').trim();
  const siteUrl = (env.SITE_URL ?? '').trim();
  let base;
  let source;
  if (baseUrl !== '') {
    base = baseUrl.replace(/\/+$/, '');
    source = 'BASE_URL';
  } else if (siteUrl !== '') {
    base = `${siteUrl.replace(/\/+$/, '')}/agents/v1`;
    source = 'SITE_URL';
  } else {
    throw new WorkerError('Missing BASE_URL or SITE_URL. Set one of them in .env or the environment.');
  }
  let parsed;
  try {
    parsed = new URL(base);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new WorkerError(
      `Invalid ${source} "${source === 'BASE_URL' ? baseUrl : siteUrl}": expected an http:// or https:// URL.`,
    );
  }

  const token = (env.AGENTS_TOKEN ?? '').trim();
  if (token === '' || token === PLACEHOLDER_TOKEN) {
    throw new WorkerError('Missing AGENTS_TOKEN. Create an account in Runlane and paste its one-time token.');
  }

  const rawTimeout = (env.REQUEST_TIMEOUT_MS ?? '').trim();
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (rawTimeout !== '') {
    timeoutMs = /^\d+$/.test(rawTimeout) ? Number(rawTimeout) : Number.NaN;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
      throw new WorkerError(
        `Invalid REQUEST_TIMEOUT_MS "${rawTimeout}": expected a whole number of milliseconds between 1 and ${MAX_TIMEOUT_MS}.`,
      );
    }
  }

  const rawPrint = (env.PRINT_JSON ?? '').trim().toLowerCase();
  let printJson = true;
  if (rawPrint !== '') {
    if (['1', 'true', 'yes', 'on'].includes(rawPrint)) printJson = true;
    else if (['0', 'false', 'no', 'off'].includes(rawPrint)) printJson = false;
    else {
      throw new WorkerError(
        `Invalid PRINT_JSON "${env.PRINT_JSON}": use 1/true/yes/on or 0/false/no/off.`,
      );
    }
  }

  return { base, token, timeoutMs, printJson };
}

// ---------------------------------------------------------------------------
// Output (every line goes through redact() so the token can never be echoed)

let secret = '';

/** Masks the token if it ever shows up in output (for example echoed back in an error body). */
function redact(text) {
  // Very short values are not real Runlane tokens; masking them would only mangle output.
  return secret.length >= 8 ? String(text).split(secret).join('[redacted]') : String(text);
}

function out(line = '') {
  process.stdout.write(`${redact(line)}\n`);
}

function err(line) {
  process.stderr.write(`${redact(line)}\n`);
}

function oneLine(text) {
  return String(text).replace(/\s+/g, ' ').trim();
}

function sentence(text) {
  const t = oneLine(text);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

function show(value, fallback = '(unknown)') {
  return value === undefined || value === null || value === '' ? fallback : oneLine(value);
}

// ---------------------------------------------------------------------------
// HTTP

function transportReason(error) {
  const cause = error?.cause;
  const nested = Array.isArray(cause?.errors) ? cause.errors.find((e) => e?.code) : undefined;
  const reason = cause?.code ?? nested?.code ?? cause?.message ?? error?.message ?? String(error);
  return oneLine(reason);
}

function isJsonContentType(contentType) {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

function httpFailure(path, res, body) {
  const statusText = res.statusText || STATUS_CODES[res.status] || 'Error';
  let message = `${path} failed (${res.status} ${statusText})`;
  const detail = body && typeof body === 'object' ? body : undefined;
  if (detail && typeof detail.message === 'string' && detail.message.trim() !== '') {
    message += `: ${sentence(detail.message)}`;
  } else {
    message += '.';
  }
  if (res.status === 401) {
    message += ' Check AGENTS_TOKEN; rotate the account for a new token.';
  } else if (res.status === 403) {
    const scope = detail && typeof detail.requiredScope === 'string' ? detail.requiredScope : '';
    message += scope ? ` The account lacks scope ${scope}.` : ' The account lacks a required scope.';
  }
  return new WorkerError(message, detail);
}

async function getJson(config, path) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, config.timeoutMs);

  const transportError = (error) =>
    timedOut
      ? new WorkerError(`${path} timed out after ${config.timeoutMs}ms.`)
      : new WorkerError(`${path} failed: ${transportReason(error)} (is Runlane running at ${config.base}?)`);

  try {
    let res;
    try {
      res = await fetch(`${config.base}${path}`, {
        method: 'GET',
        headers: {
          Authorization: `Bearer ${config.token}`,
          Accept: 'application/json',
          'User-Agent': 'runlane-bootstrap-worker/1.0',
        },
        signal: controller.signal,
      });
    } catch (error) {
      throw transportError(error);
    }

    let text;
    try {
      text = await res.text();
    } catch (error) {
      throw transportError(error);
    }

    let body;
    let isJson = false;
    if (isJsonContentType(res.headers.get('content-type'))) {
      try {
        body = JSON.parse(text);
        isJson = true;
      } catch {
        isJson = false;
      }
    }

    if (!res.ok) throw httpFailure(path, res, isJson ? body : undefined);
    if (!isJson) throw new WorkerError(`${path} returned non-JSON content.`);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new WorkerError(`${path} returned unexpected JSON (expected an object).`);
    }
    return body;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// Report

function printJsonBlock(config, body) {
  if (config.printJson) out(JSON.stringify(body, null, 2));
}

function printHealth(config, health) {
  out('=== Health ===');
  out(`Status: ${show(health.status)}`);
  out(`Service: ${show(health.service)} ${show(health.version, '')}`.trimEnd());
  out(`Environment: ${show(health.environment)}`);
  printJsonBlock(config, health);
  out();
}

function printWhoami(config, whoami) {
  const principal = whoami.principal ?? {};
  const scopes = Array.isArray(whoami.authorization?.grantedScopes) ? whoami.authorization.grantedScopes : [];
  out('=== Auth / Whoami ===');
  out(`Account: ${show(principal.name)} (${show(principal.accountId)})`);
  out(`Tenant: ${show(principal.tenant?.slug)}`);
  out(`Auth method: ${show(principal.authMethod)}`);
  out(`Scopes: ${scopes.length > 0 ? scopes.map((s) => oneLine(s)).join(', ') : '(none)'}`);
  printJsonBlock(config, whoami);
  out();
}

function printReadiness(config, readiness) {
  const warnings = Array.isArray(readiness.warnings) ? readiness.warnings : [];
  out('=== Readiness ===');
  out(`Status: ${show(readiness.status)}`);
  out(`Readiness score: ${show(readiness.readinessScore)} (ready at ${show(readiness.readinessThreshold)})`);
  out(`Warnings: ${warnings.length}`);
  for (const warning of warnings) {
    out(`  - ${typeof warning === 'string' ? oneLine(warning) : JSON.stringify(warning)}`);
  }
  printJsonBlock(config, readiness);
  out();
}

async function main() {
  if (typeof fetch !== 'function' || typeof AbortController !== 'function') {
    throw new WorkerError('This worker needs Node.js 18 or newer (global fetch).');
  }
  loadDotEnv(join(HERE, '.env'));
  const config = readConfig(process.env);
  secret = config.token;

  out('Runlane worker bootstrap');
  out(`Base URL: ${config.base}`);
  out(`Steps: ${STEPS.join(', ')}`);
  out();

  printHealth(config, await getJson(config, '/health'));
  printWhoami(config, await getJson(config, '/auth/whoami'));
  printReadiness(config, await getJson(config, '/readiness'));

  out('All checks passed.');
}

try {
  await main();
  process.exit(0);
} catch (error) {
  if (error instanceof WorkerError) {
    err(error.message);
    if (error.detail !== undefined) err(JSON.stringify(error.detail));
  } else {
    err(`Worker failed unexpectedly: ${oneLine(error?.message ?? String(error))}`);
  }
  process.exit(1);
}
