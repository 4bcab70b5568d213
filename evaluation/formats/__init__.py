"""The field's file formats: TREC run and qrels files, written from records and read from other systems."""
