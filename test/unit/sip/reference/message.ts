// Types and reason lists only, unchanged by the allocation work: the oracle shares them rather than a second copy.
export * from '../../../../services/analyzer/sip/message.ts';
