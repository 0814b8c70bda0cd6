/** Error codes of the pcap/pcapng importer. */
import { defineError } from '../shared/errors.ts';

export const ImporterErrors = {
  badFile: defineError('TG_IMPORT_BAD_FILE',
    'The file is not a pcap or pcapng capture, or a block/record header in it is corrupt (the offset is in the message).'),
  badArgs: defineError('TG_IMPORT_BAD_ARGS', 'The import command line is wrong (the message says which argument and what was expected).'),
} as const;
