#!/usr/bin/env node
// Builds fixtures/demo-farm: four ClickSoftware servers as share roots (one listed but absent),
// each with real .evtx files, perfmon logs, Tracer logs with an error burst, config files with
// planted secrets, and version resources. Deterministic: running it again gives the same files.
//
//   node tools/make-demo-farm.mjs [--shared ../shared]
// The .evtx and .blg files are copied from the project's own fixtures/ (real public files, see
// fixtures/demo-farm/SOURCES.txt), so ../shared is not needed.
import { mkdirSync, writeFileSync, copyFileSync, rmSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPe } from './make-pe-fixture.mjs';
import { rng } from './prng.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(repo, 'fixtures', 'demo-farm');
const src = join(repo, 'fixtures', 'demo-sources');


const write = (p, data) => {
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, data);
};

const SERVERS = [
  { name: 'APP01', dir: 'app01', role: 'application', build: '8.1.15.2207', guid: '3f2c1e6a-8d4b-4c1e-9a7f-2b6d5e4c3a10', burstUsers: 7, seed: 11 },
  { name: 'SCHED01', dir: 'sched01', role: 'scheduling', build: '8.1.15.2207', guid: '9b1d7c2e-4a5f-4e8b-b3c6-7d2e1f0a9b84', burstUsers: 4, seed: 22 },
  { name: 'INT01', dir: 'int01', role: 'integration', build: '8.1.15.2190', guid: 'c6e4a2b0-1f3d-4b5a-8c7e-9d0f1a2b3c4d', burstUsers: 0, seed: 33 },
];

// Users hit by the error burst. APP01 sees the first 7, SCHED01 the first 4 of the same people.
const USERS = ['jdoe', 'asmith', 'mgarcia', 'lchen', 'pnovak', 'kmueller', 'rsingh', 'tnguyen', 'ebrown'];

const INSTALL = 'Program Files/ClickSoftware/Service Optimization';

rmSync(out, { recursive: true, force: true });

for (const s of SERVERS) {
  const root = join(out, 'servers', s.dir, 'c$');
  const rand = rng(s.seed);

  write(join(root, 'Windows/System32/ntoskrnl.exe'), buildPe({ fileVersion: '10.0.17763.5576', strings: {
    CompanyName: 'Microsoft Corporation', FileDescription: 'NT Kernel & System', InternalName: 'ntkrnlmp.exe',
    OriginalFilename: 'ntkrnlmp.exe', ProductName: 'Microsoft Windows Operating System', ProductVersion: '10.0.17763.5576' } }));
  // RSA machine key containers are named <hash>_<MachineGuid>: the GUID is readable over the admin share.
  write(join(root, 'ProgramData/Microsoft/Crypto/RSA/MachineKeys', `c2319c42033a5ca7f44e731bfd3fa2b5_${s.guid}`), '');
  write(join(root, 'ProgramData/Microsoft/Crypto/RSA/MachineKeys', `7a436fe806e483969f48a894af2fe9a1_${s.guid}`), '');

  write(join(root, INSTALL, 'Bin/W6Server.exe'), buildPe({ fileVersion: s.build }));

  // Real event logs (NickSmet/ts-evtx, MIT): Windows 10/11 logs of 2025-06-02..08.
  for (const ch of ['Application', 'System']) copyFileSync(join(src, `${ch}.evtx`), join(mkdirp(join(root, 'Windows/System32/winevt/Logs')), `${ch}.evtx`));

  // Performance Monitor: a real .blg (PAL, MIT) carried as is, and a relog-style CSV for the window.
  const perf = mkdirp(join(root, 'PerfLogs/Admin/ClickSoftware'));
  copyFileSync(join(src, 'SampleLog.blg'), join(perf, `${s.name}_ClickSoftware_000001.blg`));
  write(join(perf, `${s.name}_ClickSoftware_000001.csv`), perfCsv(s, rand));

  // Tracer logs: one file per day, plus an older rotated file outside the window.
  for (const day of ['2025-06-02', '2025-06-03', '2025-06-04']) {
    write(join(root, 'ClickSoftware/Logs/Tracer', `W6Server_${day.replaceAll('-', '')}.log`), tracerDay(s, day, rand));
  }
  write(join(root, 'ClickSoftware/Logs/Tracer/Archive/W6Server_20250520.log'), tracerDay(s, '2025-05-20', rand));
  // A second component with another timestamp style (day-first, comma millis): detected per line.
  write(join(root, 'ClickSoftware/Logs/Integration', 'IntegrationManager.log'), integrationLog(s, rand));

  write(join(root, INSTALL, 'Config/W6Server.config'), serverConfig(s));
  write(join(root, INSTALL, 'Config/Integration.xml'), integrationConfig(s));
}

write(join(out, 'clk-farm.json'), `${JSON.stringify(farmFile(), null, 2)}\n`);

function mkdirp(p) {
  mkdirSync(p, { recursive: true });
  return p;
}

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

function tracerDay(s, day, rand) {
  const lines = [];
  const start = Date.parse(`${day}T00:00:00Z`);
  const modules = ['W6.Scheduling.Engine', 'W6.ServerAPI', 'W6.Gantt', 'W6.Mobile.Sync', 'W6.Dispatch'];
  let thread = 10;
  for (let t = start; t < start + 86_400_000; t += 60_000 + Math.floor(rand() * 30_000)) {
    const d = new Date(t);
    const user = USERS[Math.floor(rand() * USERS.length)];
    const mod = modules[Math.floor(rand() * modules.length)];
    thread = 10 + Math.floor(rand() * 20);
    lines.push(`${stamp(d)} [${thread}] INFO  ${mod} - User=CORP\\${user} Request ProcessTasks completed in ${Math.floor(20 + rand() * 300)} ms`);
    // The incident: 2025-06-03 10:12-10:45 UTC, database timeouts for a known set of users.
    if (day === '2025-06-03' && s.burstUsers > 0) {
      const minute = (t - start) / 60_000;
      if (minute >= 612 && minute < 645) {
        for (let k = 0; k < 3; k++) {
          const u = USERS[(Math.floor(minute) + k) % s.burstUsers];
          const e = new Date(t + k * 1500);
          lines.push(`${stamp(e)} [${thread}] ERROR W6.ServerAPI - User=CORP\\${u} GetObjects failed: System.Data.SqlClient.SqlException (0x80131904): Timeout expired. The timeout period elapsed prior to completion of the operation.`);
          lines.push(`   at W6.ServerAPI.ObjectStore.Query(String filter)`);
        }
      }
    }
  }
  // Line order within a second can interleave; sort by the stamp as a real logger would have written it.
  return `${lines.join('\r\n')}\r\n`;
}

function stamp(d) {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

function integrationLog(s, rand) {
  const lines = [];
  const start = Date.parse('2025-06-03T06:00:00Z');
  for (let t = start; t < start + 10 * 3_600_000; t += 300_000 + Math.floor(rand() * 60_000)) {
    const d = new Date(t);
    const st = `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())},${pad(d.getUTCMilliseconds(), 3)}`;
    lines.push(`${st} INFO IntegrationManager: batch ${Math.floor(rand() * 9000 + 1000)} imported (${Math.floor(rand() * 50)} tasks) from https://svc_clk:Integr8-Pa55@erp.corp.example/api/v2`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

function perfCsv(s, rand) {
  const cols = ['\\Processor(_Total)\\% Processor Time', '\\Memory\\Available MBytes', '\\Process(W6Server)\\Private Bytes', '\\LogicalDisk(C:)\\% Free Space'];
  const header = [`"(PDH-CSV 4.0) (Coordinated Universal Time)(0)"`, ...cols.map((c) => `"\\\\${s.name}${c}"`)].join(',');
  const rows = [header];
  const start = Date.parse('2025-06-03T08:00:00Z');
  for (let i = 0; i < 4 * 240; i++) {
    const d = new Date(start + i * 15_000);
    const inBurst = d >= Date.parse('2025-06-03T10:12:00Z') && d < Date.parse('2025-06-03T10:45:00Z');
    const cpu = i === 0 ? ' ' : (inBurst ? 85 + rand() * 14 : 8 + rand() * 20).toFixed(3);
    const mem = Math.floor(inBurst ? 900 + rand() * 100 : 5200 + rand() * 300);
    const priv = Math.floor((inBurst ? 2.9e9 : 1.1e9) + rand() * 1e8);
    const ts = `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
    rows.push([ts, cpu, mem, priv, '41.2'].map((v) => `"${v}"`).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}

// Secrets planted on purpose: tests scan finished bundles for these exact strings.
export const PLANTED_SECRETS = ['Sql-Demo-Pa55w0rd!', 'Integr8-Pa55', 'tok_live_4f9a8b7c6d5e4f3a2b1c', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'Ldap-Bind-S3cret'];

function serverConfig(s) {
  return `<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <connectionStrings>
    <add name="W6DB" connectionString="Data Source=DB01.corp.example;Initial Catalog=W6DB_PROD;User ID=w6app;Password=Sql-Demo-Pa55w0rd!;Connect Timeout=30" providerName="System.Data.SqlClient" />
  </connectionStrings>
  <appSettings>
    <add key="ServerName" value="${s.name}" />
    <add key="Role" value="${s.role}" />
    <add key="ApiToken" value="tok_live_4f9a8b7c6d5e4f3a2b1c" />
    <add key="LdapBindPassword" value="Ldap-Bind-S3cret" />
    <add key="TracerLevel" value="Info" />
  </appSettings>
</configuration>
`;
}

function integrationConfig(s) {
  return `<?xml version="1.0" encoding="utf-8"?>
<Integration server="${s.name}">
  <Endpoint url="https://svc_clk:Integr8-Pa55@erp.corp.example/api/v2" />
  <ClientCertificate>
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7demo0nly0000
0000000000000000000000000000000000000000000000000000000000000000
-----END PRIVATE KEY-----
  </ClientCertificate>
</Integration>
`;
}

function farmFile() {
  const server = (s) => ({
    name: s.name,
    role: s.role,
    platform: 'windows',
    transport: { type: 'share', root: `servers/${s.dir}/c$` },
    installRoot: `C:\\${INSTALL.replaceAll('/', '\\')}`,
    version: { binary: `C:\\${INSTALL.replaceAll('/', '\\')}\\Bin\\W6Server.exe` },
    logs: {
      eventLogChannels: ['Application', 'System'],
      eventLogDir: 'C:\\Windows\\System32\\winevt\\Logs',
      perfmonDir: 'C:\\PerfLogs\\Admin\\ClickSoftware',
      tracerGlobs: ['C:\\ClickSoftware\\Logs\\**\\*.log'],
    },
    license: { path: `C:\\${INSTALL.replaceAll('/', '\\')}\\License\\License.xml` },
    configGlobs: [`C:\\${INSTALL.replaceAll('/', '\\')}\\Config\\*`],
    services: ['W6Server', 'W6Scheduler'],
    endpoints: [],
  });
  return {
    formatVersion: 1,
    farm: {
      name: 'Demo farm (Contoso Field Service, production)',
      customerNumber: '1234567',
      installationNumber: '0020123456',
      systemId: 'FSP',
      environment: 'production',
    },
    settings: { connectTimeoutMs: 3000, timeoutMs: 30000, concurrency: 4, clockDriftWarnMs: 5000, clockDriftFailMs: 60000, licenseExpiryWarnDays: 30, fingerprintMinMatches: 2 },
    license: { trustedKeys: [{ id: 'clk-support-test-2026', publicKeyFile: '../keys/test-ed25519.pub.pem' }], stateDir: '.clk-support' },
    servers: [
      ...SERVERS.map(server),
      { ...server({ name: 'WEB01', dir: 'web01', role: 'web' }), services: ['W3SVC'] },
    ],
  };
}

if (!existsSync(join(out, 'servers', 'web01'))) process.stderr.write(`demo farm written to ${out} (WEB01 is listed but absent on purpose)\n`);
