// The allocation work left the SDP reader as it was: the oracle shares it rather than carrying a second copy.
export * from '../../../../services/analyzer/sip/sdp.ts';
