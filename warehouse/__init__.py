"""The directory store: migrations, intake, staging, identity, directory, audit, retention."""
