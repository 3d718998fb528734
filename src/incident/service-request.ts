// A remote service booking with the fields SAP requires, and SAP's lead time: at least 8 weeks
// before the service for Standard Support and PSLE, 3 weeks for Enterprise Support, 5 weeks when
// SAP Solution Manager is not ready. A date inside the lead time is refused with the earliest date.
import type { Farm } from '../farm/load.js';
import { UsageError } from '../errors.js';

export const SERVICE_SCHEMA = 'clk-support/service-request/v1';
export const SUPPORT_LEVELS = ['standard', 'psle', 'enterprise'] as const;
export type SupportLevel = (typeof SUPPORT_LEVELS)[number];

const LEVEL_LABEL: Record<SupportLevel, string> = {
  standard: 'SAP Standard Support',
  psle: 'SAP Product Support for Large Enterprises (PSLE)',
  enterprise: 'SAP Enterprise Support',
};

export function leadTimeWeeks(level: SupportLevel, solmanReady: boolean): number {
  const base = level === 'enterprise' ? 3 : 8;
  return solmanReady ? base : Math.max(base, 5);
}

const DAY = 86_400_000;

/** A calendar date (UTC) as ms at midnight. */
export function parseDate(text: string, flag: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).getUTCDate() !== Number(m[3]))
    throw new UsageError(`${flag}: "${text}" is not a date`, { hint: 'use YYYY-MM-DD, e.g. 2026-03-02' });
  return ms;
}

export function dateOnly(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function earliestServiceDate(today: Date, level: SupportLevel, solmanReady: boolean): number {
  const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return midnight + leadTimeWeeks(level, solmanReady) * 7 * DAY;
}

export interface ServiceRequestInput {
  serviceType: string;
  serviceDate: string;
  goLiveDate: string;
  supportLevel: SupportLevel;
  solmanReady: boolean;
  contactName: string;
  contactPhone: string;
  contactEmail: string;
  /** Product version to name (e.g. 8.1.15.2207); the farm names the product. */
  productVersion?: string;
  notes?: string;
  today: Date;
}

export interface ServiceRequest {
  schema: typeof SERVICE_SCHEMA;
  customerNumber: string;
  installationNumber: string;
  systemId: string;
  environment: string;
  product: string;
  productVersion?: string;
  serviceType: string;
  serviceDate: string;
  goLiveDate: string;
  supportLevel: SupportLevel;
  solmanReady: boolean;
  leadTimeWeeks: number;
  earliestDate: string;
  contact: { name: string; phone: string; email: string };
  notes?: string;
  warnings: string[];
  text: string;
}

/**
 * The requested service date, checked on its own (so that a prompt can refuse it before asking the
 * rest): a real date, not in the past, and outside the lead time of the support offering.
 */
export function validateServiceDate(text: string, today: Date, level: SupportLevel, solmanReady: boolean): number {
  const serviceMs = parseDate(text, '--date');
  const weeks = leadTimeWeeks(level, solmanReady);
  const earliest = earliestServiceDate(today, level, solmanReady);
  const todayMs = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const hint = `book for ${dateOnly(earliest)} or later (--date ${dateOnly(earliest)})`;
  if (serviceMs < todayMs)
    throw new UsageError(`--date ${dateOnly(serviceMs)} is in the past (today is ${dateOnly(todayMs)}); the earliest valid date is ${dateOnly(earliest)}`, { code: 'SERVICE_DATE_PAST', hint });
  if (serviceMs < earliest)
    throw new UsageError(
      `${dateOnly(serviceMs)} is inside the lead time: ${LEVEL_LABEL[level]}${solmanReady ? '' : ' without a ready SAP Solution Manager'} needs ${weeks} weeks; the earliest valid date is ${dateOnly(earliest)}`,
      { code: 'SERVICE_LEAD_TIME', hint },
    );
  return serviceMs;
}

export function buildServiceRequest(farm: Farm, i: ServiceRequestInput): ServiceRequest {
  const serviceMs = validateServiceDate(i.serviceDate, i.today, i.supportLevel, i.solmanReady);
  const goLiveMs = parseDate(i.goLiveDate, '--go-live');
  const weeks = leadTimeWeeks(i.supportLevel, i.solmanReady);
  const earliest = earliestServiceDate(i.today, i.supportLevel, i.solmanReady);
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(i.contactEmail)) throw new UsageError(`--contact-email: "${i.contactEmail}" is not an email address`);
  if (!/^\+?[\d\s()./-]{6,}$/.test(i.contactPhone)) throw new UsageError(`--contact-phone: "${i.contactPhone}" is not a phone number`, { hint: 'digits with the country code, e.g. +49 6227 7-47474' });
  const warnings: string[] = [];
  if (goLiveMs < serviceMs) warnings.push(`the go-live (${dateOnly(goLiveMs)}) is before the service date (${dateOnly(serviceMs)}): a pre-go-live service then comes too late`);
  const f = farm.farm;
  const lines = [
    'SAP remote service request',
    '',
    `Customer number:        ${f.customerNumber}`,
    `Installation number:    ${f.installationNumber}`,
    `System ID:              ${f.systemId} (${f.environment})`,
    `Product:                ${f.product}${i.productVersion ? ` ${i.productVersion}` : ''}`,
    `Type of service:        ${i.serviceType}`,
    `Requested service date: ${dateOnly(serviceMs)}`,
    `Project go-live date:   ${dateOnly(goLiveMs)}`,
    `Support offering:       ${LEVEL_LABEL[i.supportLevel]}; SAP Solution Manager ${i.solmanReady ? 'ready' : 'not ready'} (lead time ${weeks} weeks, earliest ${dateOnly(earliest)})`,
    `Contact person:         ${i.contactName}, ${i.contactPhone}, ${i.contactEmail}`,
  ];
  if (i.notes) lines.push(`Notes:                  ${i.notes}`);
  return {
    schema: SERVICE_SCHEMA,
    customerNumber: f.customerNumber,
    installationNumber: f.installationNumber,
    systemId: f.systemId,
    environment: f.environment,
    product: f.product,
    productVersion: i.productVersion,
    serviceType: i.serviceType,
    serviceDate: dateOnly(serviceMs),
    goLiveDate: dateOnly(goLiveMs),
    supportLevel: i.supportLevel,
    solmanReady: i.solmanReady,
    leadTimeWeeks: weeks,
    earliestDate: dateOnly(earliest),
    contact: { name: i.contactName, phone: i.contactPhone, email: i.contactEmail },
    notes: i.notes,
    warnings,
    text: `${lines.join('\n')}\n`,
  };
}
