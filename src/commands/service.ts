import { Option, type Command } from 'commander';
import { examples, type App } from '../app.js';
import { saveResults, type SaveOptions } from './save-output.js';
import { MissingInputError } from '../errors.js';
import { parseTime } from '../logs/window.js';
import { buildServiceRequest, SUPPORT_LEVELS, type SupportLevel } from '../incident/service-request.js';
import { createOutgoing } from '../bundle/outgoing.js';

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
        const need = async (key: string, flag: string, prompt: string): Promise<string> => {
          const v = opts[key];
          if (typeof v === 'string' && v.trim()) return v.trim();
          if (!io.canPrompt) throw new MissingInputError(prompt, flag);
          return (await io.input(prompt, { flag, required: true })).trim();
        };
        const supportLevel = (opts.supportLevel as SupportLevel | undefined) ??
          (io.canPrompt
            ? await io.select('Support offering', SUPPORT_LEVELS.map((l) => ({ value: l })), { flag: '--support-level' })
            : (() => {
                throw new MissingInputError('The support offering', '--support-level standard|psle|enterprise');
              })());
        const today = opts.today ? parseTime(opts.today as string, '--today') : new Date();
        const r = buildServiceRequest(farm, {
          serviceType: await need('type', '--type', 'Type of service'),
          serviceDate: await need('date', '--date', 'Requested service date (YYYY-MM-DD)'),
          goLiveDate: await need('goLive', '--go-live', 'Project go-live date (YYYY-MM-DD)'),
          supportLevel,
          solmanReady: opts.solmanReady !== false,
          contactName: await need('contactName', '--contact-name', 'Contact person'),
          contactPhone: await need('contactPhone', '--contact-phone', 'Contact phone'),
          contactEmail: await need('contactEmail', '--contact-email', 'Contact email'),
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
