import { Option, type Command } from 'commander';
import { examples, type App } from '../app.js';
import { saveResults, type SaveOptions } from './save-output.js';
import { createOutgoing } from '../bundle/outgoing.js';
import { MissingAnswersError } from '../incident/questions.js';
import { parseTime } from '../logs/window.js';
import { buildServiceRequest, SUPPORT_LEVELS, validateServiceDate, type SupportLevel } from '../incident/service-request.js';

/** The fields SAP requires for a booking, in the order they are asked. */
const FIELDS = [
  { key: 'supportLevel', flag: '--support-level standard|psle|enterprise', prompt: 'The support offering' },
  { key: 'date', flag: '--date', prompt: 'Requested service date (YYYY-MM-DD)' },
  { key: 'type', flag: '--type', prompt: 'Type of service' },
  { key: 'goLive', flag: '--go-live', prompt: 'Project go-live date (YYYY-MM-DD)' },
  { key: 'contactName', flag: '--contact-name', prompt: 'Contact person' },
  { key: 'contactPhone', flag: '--contact-phone', prompt: 'Contact phone' },
  { key: 'contactEmail', flag: '--contact-email', prompt: 'Contact email' },
] as const;

export function registerServiceCommands(program: Command, app: App): void {
  const service = examples(program.command('service').description('SAP remote services'), ['clk-support service request --type "GoingLive Check" --date 2027-03-01 --go-live 2027-04-01']);
  examples(
    service
      .command('request')
      .description('prepare a remote service booking with the fields SAP requires, and check the lead time')
      .option('--type <service>', 'type of service, e.g. "GoingLive Check" or "Technical Performance Optimization"')
      .option('--date <YYYY-MM-DD>', 'requested service date')
      .option('--go-live <YYYY-MM-DD>', 'project go-live date')
      .addOption(new Option('--support-level <level>', 'your support offering').choices([...SUPPORT_LEVELS]))
      .option('--solman-ready', 'SAP Solution Manager is ready for the service (default)', true)
      .option('--no-solman-ready', 'SAP Solution Manager is not ready (lead time at least 5 weeks)')
      .option('--contact-name <name>', 'contact person')
      .option('--contact-phone <phone>', 'contact phone, with country code')
      .option('--contact-email <email>', 'contact email')
      .option('--product-version <version>', 'product version to name (e.g. 8.1.15.2207)')
      .option('--notes <text>', 'anything SAP should know for the booking')
      .addOption(new Option('--today <YYYY-MM-DD>', 'the date lead times count from (testing)').hideHelp())
      .option('-o, --out <file>', 'write the request text to this file instead of stdout (complete or not at all)')
      .option('--force', 'with --out: replace an existing file (kept as <file>.bak)')
      .action(async (opts: Record<string, string | boolean | undefined>, cmd: Command) => {
        const io = app.io(cmd);
        saveResults(app, io, opts as SaveOptions);
        const farm = await app.farm(cmd);
        const given = (key: string) => (typeof opts[key] === 'string' && (opts[key] as string).trim() ? (opts[key] as string).trim() : undefined);
        // Non-interactive: every missing field at once, as incident prefill does.
        if (!io.canPrompt) {
          const missing = FIELDS.filter((f) => !given(f.key)).map(({ flag, prompt }) => ({ flag, prompt }));
          if (missing.length) throw new MissingAnswersError(missing);
        }
        const ask = async (key: string): Promise<string> => {
          const f = FIELDS.find((x) => x.key === key)!;
          return given(key) ?? (await io.input(f.prompt, { flag: f.flag, required: true })).trim();
        };
        const supportLevel = (given('supportLevel') as SupportLevel | undefined) ??
          (await io.select('Support offering', SUPPORT_LEVELS.map((l) => ({ value: l })), { flag: '--support-level' }));
        const solmanReady = opts.solmanReady !== false;
        const today = opts.today ? parseTime(opts.today as string, '--today') : new Date();
        // The date decides whether there is a booking at all: refuse it before asking anything else.
        const serviceDate = await ask('date');
        validateServiceDate(serviceDate, today, supportLevel, solmanReady);
        const r = buildServiceRequest(farm, {
          serviceType: await ask('type'),
          serviceDate,
          goLiveDate: await ask('goLive'),
          supportLevel,
          solmanReady,
          contactName: await ask('contactName'),
          contactPhone: await ask('contactPhone'),
          contactEmail: await ask('contactEmail'),
          productVersion: opts.productVersion as string | undefined,
          notes: opts.notes as string | undefined,
          today,
        });
        for (const w of r.warnings) io.warn(w);
        // It goes to SAP: secrets and this machine's paths never in it; the contact stays as given.
        const shown = createOutgoing({ farm, cwd: app.cwd, keep: [r.contact?.name, r.contact?.phone, r.contact?.email] }).value(r);
        if (app.globals(cmd).json) io.json(shown);
        else io.out(shown.text);
      }),
    [
      'clk-support service request --type "GoingLive Check" --date 2026-03-02 --go-live 2026-04-01 --support-level enterprise --contact-name "A. Admin" --contact-phone "+49 30 1234567" --contact-email admin@contoso.example',
      'clk-support --json service request ... --support-level standard --no-solman-ready',
    ],
  );
}
