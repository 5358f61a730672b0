//! The fetch-page worker: reads one page of a paginated upstream listing per command and fans out the next.
