"""The ground floor, imported by every other room and importing none of them: errors and exit codes,
atomic file writing, the model card, the provenance records, the shipped files, the agreement measures."""
