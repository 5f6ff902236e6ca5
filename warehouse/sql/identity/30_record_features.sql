-- staging.source_record's trigger: a record whose content changed loses its row of identity.record_features
-- (the linker's standardised view of it), and the linker recomputes what is missing.
-- Applied by migration 0022; created by 0005. No grants: it runs for whoever updates the record.

CREATE OR REPLACE FUNCTION identity.forget_features() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM identity.record_features WHERE record_id = NEW.record_id;
    RETURN NULL;
END $$;
