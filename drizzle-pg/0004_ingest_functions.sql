-- Custom SQL migration file, put your code below! --
-- The ingest's two statements as functions (collector/storage/pg/profiles.ts ingestSubject): one
-- call sent with BEGIN does what took two round trips (the lock of the profile the visitor's link
-- names, then the batch stored with the profile and its meta read), and one call sent with COMMIT
-- saves the profile. PL/pgSQL keeps each inner statement's plan for the session, so the calls,
-- made with literal arguments (simple protocol, to travel with BEGIN and COMMIT), cost the server
-- no planning of the statements inside.

-- A batch stored for `p_visitor` (its linked contact's profile while the link is in force, else
-- its own) or for the contact of `p_key` (`c:<contact>`, its own events; `p_visitor` null).
-- `p_events`: a JSON array of the events' columns, in the batch's order. Under the profile's
-- advisory lock (the same key as profiles.ts LOCK_SQL), taken before anything is read; each
-- statement of a VOLATILE function takes a new snapshot (READ COMMITTED), so what follows the lock
-- sees what the previous holder committed. A link that moved while the lock was waited for
-- names another profile when read again: the call fails with 40001 and the job runs again.
-- Each event's session as collector/storage/pg/sessions.ts (the row comparisons keep the lookup
-- on events_visitor: see there). Returns the profile's key, whether each event was stored (false:
-- a duplicate id), the profile and its meta (nulls when none).
CREATE OR REPLACE FUNCTION microseg_ingest(p_site text, p_visitor text, p_key text, p_now bigint,
  p_events jsonb)
RETURNS TABLE (key text, inserted boolean[], data text, updated bigint, segment text,
  segments jsonb, traits text, first_touch text, last_touch text)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
  k text := p_key;
  again text;
  v text;
  c text;
  e record;
  n integer;
  stored boolean[] := '{}';
BEGIN
  IF k IS NULL THEN
    k := COALESCE((SELECT 'c:' || l.contact FROM links l
      WHERE l.site = p_site AND l.visitor = p_visitor AND l.expires > p_now), p_visitor);
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_site || E'\n' || k, 0));
  IF p_key IS NULL THEN
    again := COALESCE((SELECT 'c:' || l.contact FROM links l
      WHERE l.site = p_site AND l.visitor = p_visitor AND l.expires > p_now), p_visitor);
    IF again IS DISTINCT FROM k THEN
      RAISE EXCEPTION 'microseg: the visitor was linked or unlinked meanwhile; the write runs again'
        USING ERRCODE = '40001';
    END IF;
  END IF;
  v := COALESCE(p_visitor, k);
  c := CASE WHEN left(k, 2) = 'c:' THEN substr(k, 3) END;
  FOR e IN SELECT x.* FROM jsonb_array_elements(p_events) WITH ORDINALITY AS a(j, o),
      jsonb_to_record(a.j) AS x(id text, session text, type text, ts bigint, url text, ref text,
        category text, nav text, target text, outbound integer, value double precision,
        currency text, props text, utm text, bot boolean)
      ORDER BY a.o LOOP
    INSERT INTO events (site, id, visitor, session, type, ts, received, url, ref, category, nav,
        target, outbound, value, currency, props, utm, bot, contact)
      VALUES (p_site, e.id, v, COALESCE(e.session, COALESCE(
          (SELECT s.session FROM events s WHERE s.site = p_site AND s.visitor = v
             AND (s.visitor, s.ts) <= (v, e.ts) AND (s.visitor, s.ts) > (v, e.ts - 1800000)
             AND s.session IS NOT NULL ORDER BY s.ts DESC LIMIT 1),
          (SELECT s.session FROM events s WHERE s.site = p_site AND s.visitor = v
             AND (s.visitor, s.ts) > (v, e.ts) AND (s.visitor, s.ts) < (v, e.ts + 1800000)
             AND s.session IS NOT NULL ORDER BY s.ts ASC LIMIT 1),
          e.id)),
        e.type, e.ts, p_now, e.url, e.ref, e.category, e.nav, e.target, e.outbound, e.value,
        e.currency, e.props, e.utm, COALESCE(e.bot, false), c)
      ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    stored := stored || (n > 0);
  END LOOP;
  RETURN QUERY SELECT k, stored, p.data, p.updated, p.segment, p.segments, m.traits,
      m.first_touch, m.last_touch
    FROM (SELECT 1) one
    LEFT JOIN profiles p ON p.site = p_site AND p.visitor = k
    LEFT JOIN profile_meta m ON m.site = p_site AND m.visitor = k;
END
$fn$;
--> statement-breakpoint
-- A profile written with its derived columns, and its segment changes recorded (in the order of
-- the arrays: their seq follow it), as profiles.ts SAVE_PROFILE.
CREATE OR REPLACE FUNCTION microseg_save_profile(p_site text, p_key text, p_first bigint,
  p_last bigint, p_updated bigint, p_segment text, p_data text, p_segments jsonb,
  p_purchases integer, p_monetary double precision, p_last_purchase bigint, p_kinds text[],
  p_names text[], p_previous text[], p_event text, p_contact text)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  INSERT INTO segment_changes (site, visitor, at, kind, name, previous, event, contact)
    SELECT p_site, p_key, p_updated, ch.kind, ch.name, ch.previous, p_event, p_contact
      FROM unnest(p_kinds, p_names, p_previous) WITH ORDINALITY AS ch(kind, name, previous, o)
     ORDER BY ch.o;
  INSERT INTO profiles (site, visitor, first_seen, last_seen, updated, segment, data, segments,
      purchases, monetary, last_purchase)
    VALUES (p_site, p_key, p_first, p_last, p_updated, p_segment, p_data, p_segments,
      p_purchases, p_monetary, p_last_purchase)
    ON CONFLICT (site, visitor) DO UPDATE SET
      first_seen = excluded.first_seen, last_seen = excluded.last_seen,
      updated = excluded.updated, segment = excluded.segment, data = excluded.data,
      segments = excluded.segments, purchases = excluded.purchases,
      monetary = excluded.monetary, last_purchase = excluded.last_purchase;
END
$fn$;
