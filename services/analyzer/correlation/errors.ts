import { defineError } from '../../shared/errors.ts';

export const CorrelationErrors = {
  badSnapshot: defineError('TG_CORRELATION_BAD_SNAPSHOT',
    'A tracker snapshot is not the version or shape this build writes; start with empty state instead.'),
  badConfig: defineError('TG_CORRELATION_BAD_CONFIG',
    'A correlation tracker option is out of range (windows and timeouts must be non-negative integers of µs).'),
} as const;
