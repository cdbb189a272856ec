/**
 * What the installed CLI needs at run time: every package the compiled code imports is a
 * dependency (the web UI is static files in dist/ui; Vite and playwright-core are only for
 * building and testing it).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../e2e/helpers.js';

function files(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), ext) : e.name.endsWith(ext) ? [join(dir, e.name)] : []));
}

describe('the package', () => {
  it('the compiled CLI imports only Node built-ins and the declared dependencies; dist/ui holds static files only', () => {
    ensureBuilt();
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const builtins = new Set(builtinModules);
    const used = new Set<string>();
    for (const f of [...files(join(ROOT, 'dist'), '.js').filter((f) => !f.includes(`${join('dist', 'ui')}`)), join(ROOT, 'bin/podvisor.js')]) {
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = (m[1] ?? m[2]) as string;
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        used.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
      }
    }
    expect([...used].filter((p) => !(p in pkg.dependencies))).toEqual([]);
    expect(used.has('yaml')).toBe(true); // the scan sees the real imports
    if (existsSync(join(ROOT, 'dist/ui'))) {
      const exts = new Set(files(join(ROOT, 'dist/ui'), '').map((f) => f.slice(f.lastIndexOf('.'))));
      expect([...exts].filter((e) => !['.html', '.js', '.css', '.svg', '.png', '.ico', '.map', '.woff2'].includes(e))).toEqual([]);
    }
  });
});
