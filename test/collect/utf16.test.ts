// UTF-16 Tracer logs and config files (with a BOM, LE and BE) through the built CLI: cut to the
// window, redacted, and kept in their own encoding (the extracted bytes decode back line for line).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyDemoFarm, runCli } from '../support/cli.js';
import { DEMO_WINDOW, openBundle, type Manifest } from './helpers.js';

const SECRET = 'Sup3r-Secr3t-U16x';
const CONFIG_SECRET = 'Cfg-Secr3t-U16y';

const LINES = [
  '2025-06-03 07:00:00.000 [10] INFO  W6.Gantt - before the window',
  `2025-06-03 09:00:00.000 [11] ERROR W6.Db - connect failed: Server=db01;User Id=sa;Password=${SECRET};`,
  '2025-06-03 10:00:00.000 [12] WARN  W6.Gantt - inside the window, naïve café ✓ 日本',
  '2025-06-03 13:00:00.000 [13] INFO  W6.Gantt - after the window',
];

function encode(text: string, enc: 'le' | 'be'): Buffer {
  const le = Buffer.from(text, 'utf16le');
  const body = enc === 'le' ? le : Buffer.from(le).swap16();
  return Buffer.concat([Buffer.from(enc === 'le' ? [0xff, 0xfe] : [0xfe, 0xff]), body]);
}

function decode(buf: Buffer): { enc: 'le' | 'be' | 'none'; text: string } {
  if (buf[0] === 0xff && buf[1] === 0xfe) return { enc: 'le', text: new TextDecoder('utf-16le').decode(buf.subarray(2)) };
  if (buf[0] === 0xfe && buf[1] === 0xff) return { enc: 'be', text: new TextDecoder('utf-16be').decode(buf.subarray(2)) };
  return { enc: 'none', text: buf.toString('utf8') };
}

describe('UTF-16 Tracer logs and config files with a BOM', () => {
  let demo: Awaited<ReturnType<typeof copyDemoFarm>>;
  let outDir: string;
  let files: Map<string, Buffer>;
  let manifest: Manifest;
  let raw: Buffer;
  let exitCode: number;
  let stderr: string;

  beforeAll(async () => {
    demo = await copyDemoFarm();
    const app = join(demo.dir, 'servers', 'app01', 'c$');
    const tracerDir = join(app, 'ClickSoftware', 'Logs', 'Tracer');
    await writeFile(join(tracerDir, 'W6Server_utf16le.log'), encode(`${LINES.join('\r\n')}\r\n`, 'le'));
    await writeFile(join(tracerDir, 'W6Server_utf16be.log'), encode(`${LINES.join('\n')}\n`, 'be'));
    const config = join(app, 'Program Files', 'ClickSoftware', 'Service Optimization', 'Config');
    await writeFile(
      join(config, 'Unicode.config'),
      encode(`<?xml version="1.0" encoding="utf-16"?>\r\n<connectionStrings>\r\n  <add name="db" connectionString="Server=db01;Password=${CONFIG_SECRET};" />\r\n</connectionStrings>\r\n`, 'le'),
    );
    outDir = await mkdtemp(join(tmpdir(), 'clk-utf16-out-'));
    const r = await runCli(['--farm', demo.farmFile, 'collect', ...DEMO_WINDOW, '--server', 'APP01', '--only', 'tracer,config', '--out', outDir]);
    exitCode = r.exitCode;
    stderr = r.stderr;
    ({ files, manifest, raw } = await openBundle(r.stdout.trim()));
  }, 120_000);
  afterAll(async () => {
    await demo?.cleanup();
    await rm(outDir, { recursive: true, force: true });
  });

  it('collects them (exit 0)', () => {
    expect(exitCode, stderr).toBe(0);
  });

  for (const [name, enc] of [
    ['W6Server_utf16le.log', 'le'],
    ['W6Server_utf16be.log', 'be'],
  ] as const) {
    it(`${name}: cut to the window, redacted, and still UTF-16 ${enc.toUpperCase()} with its BOM`, () => {
      const path = `APP01/tracer/C/ClickSoftware/Logs/Tracer/${name}`;
      const data = files.get(path);
      expect(data, [...files.keys()].join('\n')).toBeDefined();
      const { enc: got, text } = decode(data!);
      expect(got).toBe(enc);
      const lines = text.split(/\r?\n/).filter((l) => l !== '');
      expect(lines).toEqual([LINES[1]!.replace(SECRET, '[REDACTED]'), LINES[2]]);
      expect(text).not.toContain(SECRET);
      expect(manifest.entries.find((e) => e.path === path)).toMatchObject({ encoding: `utf-16${enc}` });
    });
  }

  it('a UTF-16 config file is kept (not skipped as binary), redacted, in UTF-16', () => {
    const data = files.get('APP01/config/C/Program Files/ClickSoftware/Service Optimization/Config/Unicode.config');
    expect(data).toBeDefined();
    const { enc, text } = decode(data!);
    expect(enc).toBe('le');
    expect(text).toMatch(/<add name="db" connectionString="Server=db01;Password=\[REDACTED\];" \/>/);
  });

  it('no planted secret in any extracted byte or the raw zip, in UTF-8, UTF-16LE or UTF-16BE', () => {
    for (const secret of [SECRET, CONFIG_SECRET]) {
      const le = Buffer.from(secret, 'utf16le');
      const needles = [Buffer.from(secret, 'utf8'), le, Buffer.from(le).swap16()];
      for (const [name, data] of files) expect(needles.some((n) => data.includes(n)), `${secret} in ${name}`).toBe(false);
      expect(needles.some((n) => raw.includes(n))).toBe(false);
    }
  });
});
