// REPLACED AT MERGE by the page branch
// A minimal placeholder page so this branch builds: the timeline as escaped JSON in <pre>.
import type { Timeline } from './timeline-model.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

export async function renderTimelinePage(t: Timeline): Promise<string> {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`Incident timeline: ${t.farm.name}`)}</title></head>\n<body><h1>${escapeHtml(`Incident timeline: ${t.farm.name}`)}</h1>\n<pre>${escapeHtml(JSON.stringify(t, null, 2))}</pre></body></html>\n`;
}
