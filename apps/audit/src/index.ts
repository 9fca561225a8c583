/** @example/audit: reads every event type of the order stream with typed streams and writes an audit log. */
export { type AuditAppOptions, runAuditApp } from './app.js';
export { type Audit, type AuditOptions, type AuditRecord, type AuditStats, startAudit } from './audit.js';
export { main } from './cli.js';
export { type LineFile, openLineFile } from './log-file.js';
