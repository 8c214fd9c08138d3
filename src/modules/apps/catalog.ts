import type { DiscoveredTool } from './app.entity';

/** A tool as one probe saw it. */
export type AdvertisedTool = {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
};

// Stale entries are history, not capability: keep the newest ones so the catalog stays bounded
// even when a server renames its tools on every deploy.
const MAX_STALE_TOOLS = 200;

/**
 * Folds one successful probe into the catalog. Tools keep their first-seen time; new ones start
 * disabled; tools the server stopped advertising turn stale and leave the enabled set.
 */
export function mergeCatalog(
  previous: readonly DiscoveredTool[],
  enabled: readonly string[],
  advertised: readonly AdvertisedTool[],
  now: Date,
): { discoveredTools: DiscoveredTool[]; enabledTools: string[] } {
  const at = now.toISOString();
  const before = new Map(previous.map((t) => [t.name, t]));
  const seen = new Set<string>();
  const current: DiscoveredTool[] = [];
  for (const tool of advertised) {
    if (seen.has(tool.name)) continue;
    seen.add(tool.name);
    current.push({
      name: tool.name,
      title: tool.title ?? null,
      description: tool.description ?? null,
      inputSchema: tool.inputSchema,
      annotations: tool.annotations ?? null,
      firstSeenAt: before.get(tool.name)?.firstSeenAt ?? at,
      lastSeenAt: at,
      stale: false,
    });
  }
  const stale = previous
    .filter((t) => !seen.has(t.name))
    .map((t) => ({ ...t, stale: true }))
    .sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt))
    .slice(0, MAX_STALE_TOOLS);
  return {
    discoveredTools: [...current, ...stale],
    enabledTools: enabled.filter((name) => seen.has(name)),
  };
}

/** The enabled set a tenant asks for, or the name of the first tool it may not enable. */
export function checkEnabledTools(
  catalog: readonly DiscoveredTool[],
  requested: readonly string[],
): { ok: true; enabledTools: string[] } | { ok: false; tool: string; why: 'unknown' | 'stale' } {
  const byName = new Map(catalog.map((t) => [t.name, t]));
  const unique = [...new Set(requested)];
  for (const name of unique) {
    const tool = byName.get(name);
    if (!tool) return { ok: false, tool: name, why: 'unknown' };
    if (tool.stale) return { ok: false, tool: name, why: 'stale' };
  }
  return { ok: true, enabledTools: unique };
}
