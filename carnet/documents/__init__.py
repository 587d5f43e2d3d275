"""Documents of a record: uploaded files, encrypted at rest, downloaded as attachments."""
