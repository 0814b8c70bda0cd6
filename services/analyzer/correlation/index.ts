export type { ObservedSip } from './observed.ts';
export { toUs } from './observed.ts';
export { DialogTracker } from './dialogs.ts';
export type { DialogSnapshot, DialogTrackerOptions, DialogTrackerStats } from './dialogs.ts';
export type { CallEndReason, CallRecord, CallState, HangupSide } from './dialog-facts.ts';
export { RegistrationTracker } from './registrations.ts';
export type {
  RegistrationOutcome,
  RegistrationRecord,
  RegistrationSnapshot,
  RegistrationTrackerOptions,
  RegistrationTrackerStats,
} from './registrations.ts';
export { CorrelationErrors } from './errors.ts';
