"""Other patients' threads and messages, loaded fast for size checks (bench and tests).

``messages_load`` writes ``count`` messages in threads of ``per_thread`` spread over
``patients`` with a few server-side ``INSERT ... SELECT generate_series`` statements: no
service, no encryption (each row copies the ciphertext and wrapped key of a real thread
and message, which are never decrypted under another row's id). Each row still has its
own data key, as the services make them. Like real traffic, the newest message of
three threads in ten is from the care team and unopened (with the thread's "new" mark
set to agree), the patient's reply in one in ten is unread by staff, and the care team
marked the other six in ten handled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction

from messaging.models import UNREAD_FOREVER, Message


def messages_load(
    *, sample: Message, patients: Sequence[int], count: int, per_thread: int = 10
) -> int:
    """Insert ``count`` messages (rounded up to whole threads) for ``patients``, copying
    ``sample``'s ciphertext, author and keys' wrapping. Returns the messages inserted."""
    threads = -(-count // per_thread)
    values: dict[str, Any] = {
        "threads": threads,
        "per_thread": per_thread,
        "patients": list(patients),
        "thread": sample.thread_id,
        "message": sample.pk,
        "forever": UNREAD_FOREVER,
    }
    statements = [
        """CREATE TEMP TABLE other_threads ON COMMIT DROP AS
        SELECT gen_random_uuid() AS id, gen_random_uuid() AS key_id, g,
               (%(patients)s::bigint[])[1 + g %% cardinality(%(patients)s::bigint[])]
                   AS patient_id,
               now() - g * interval '1 minute' AS at
        FROM generate_series(0, %(threads)s - 1) AS g""",
        """CREATE TEMP TABLE other_messages ON COMMIT DROP AS
        SELECT gen_random_uuid() AS id, gen_random_uuid() AS key_id, t.id AS thread_id,
               t.g, n, t.at - (%(per_thread)s - n) * interval '1 second' AS at
        FROM other_threads AS t, generate_series(1, %(per_thread)s) AS n""",
        """INSERT INTO encryption_datakey (id, kek_id, wrapped, created_at)
        SELECT key_id, k.kek_id, k.wrapped, now()
        FROM (SELECT key_id FROM other_threads UNION ALL SELECT key_id FROM other_messages) AS x,
             (SELECT kek_id, wrapped FROM encryption_datakey
              WHERE id = (SELECT data_key_id FROM messaging_message WHERE id = %(message)s)) AS k
        """,
        """INSERT INTO messaging_thread (id, data_key_id, patient_id, subject, category,
            created_by_id, created_at, last_message_at, patient_unread_until, staff_unread,
            handled_at, confidential)
        SELECT o.id, o.key_id, o.patient_id, s.subject, s.category, s.created_by_id, o.at,
               o.at, CASE WHEN o.g %% 10 < 3 THEN %(forever)s END,
               CASE WHEN o.g %% 10 = 9 THEN 1 ELSE 0 END,
               CASE WHEN o.g %% 10 BETWEEN 3 AND 8 THEN o.at END, false
        FROM other_threads AS o,
             (SELECT subject, category, created_by_id FROM messaging_thread
              WHERE id = %(thread)s) AS s""",
        """INSERT INTO messaging_message (id, data_key_id, thread_id, author_id, from_patient,
            body, state, send_key, created_at, sent_at, opened_at, staff_read_at)
        SELECT o.id, o.key_id, o.thread_id,
               CASE WHEN last AND o.g %% 10 = 9 THEN t.patient_id ELSE s.author_id END,
               last AND o.g %% 10 = 9, s.body, 'sent', gen_random_uuid(), o.at, o.at,
               CASE WHEN last AND (o.g %% 10 < 3 OR o.g %% 10 = 9) THEN NULL ELSE o.at END,
               CASE WHEN last AND o.g %% 10 = 9 THEN NULL ELSE o.at END
        FROM (SELECT *, n = %(per_thread)s AS last FROM other_messages) AS o
        JOIN other_threads AS t ON t.id = o.thread_id,
             (SELECT body, author_id FROM messaging_message WHERE id = %(message)s) AS s""",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, values)
    with connection.cursor() as cursor:  # as autovacuum would after a load this size
        cursor.execute("ANALYZE encryption_datakey, messaging_thread, messaging_message")
    return threads * per_thread


def notices_load(*, patients: Sequence[int]) -> int:
    """Give each care-team message of ``patients`` that has none its e-mail notice, as the
    services would: sent, except one in a hundred failed and one in a thousand a letter
    still to print (a postal-only patient's). Returns the notices inserted."""
    statement = """INSERT INTO messaging_delivery (id, message_id, channel, state, attempts,
        created_at, next_attempt_at, sent_at, failed_at, failure, method, fallback_reason)
    SELECT gen_random_uuid(), m.id, CASE WHEN x.n = 1 THEN 'letter' ELSE 'email' END,
           CASE WHEN x.n %% 100 = 0 THEN 'failed' WHEN x.n = 1 THEN 'pending' ELSE 'sent' END,
           1, m.created_at, m.created_at,
           CASE WHEN x.n %% 100 <> 0 AND x.n <> 1 THEN m.created_at END,
           CASE WHEN x.n %% 100 = 0 THEN m.created_at END,
           CASE WHEN x.n %% 100 = 0 THEN 'rejected' ELSE '' END, 'portal', ''
    FROM messaging_message AS m
    JOIN messaging_thread AS t ON t.id = m.thread_id,
         LATERAL (SELECT abs(hashtext(m.id::text)) %% 1000 AS n) AS x
    WHERE t.patient_id = ANY(%(patients)s::bigint[]) AND NOT m.from_patient
      AND m.state = 'sent'
      AND NOT EXISTS (SELECT 1 FROM messaging_delivery AS d WHERE d.message_id = m.id)"""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, {"patients": list(patients)})
        inserted = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_delivery")
    return inserted


def patients_load(*, count: int, verified_by: int, prefix: str = "other") -> int:
    """Insert ``count`` active patients (account and verified profile) in two statements.

    Their e-mail addresses are ``{prefix}.{n}@patients.test`` and their MRNs
    ``{prefix}-{n}``; their names are made of letters no test or bench persona's name
    uses ("Ona Qwrtz..."), so a search for a persona matches the persona alone, however
    many other patients there are; birth dates run over eighty years. No password
    (unusable), no invitation. Returns the patients inserted.
    """
    values: dict[str, Any] = {"count": count, "by": verified_by, "prefix": prefix}
    statements = [
        """CREATE TEMP TABLE other_people ON COMMIT DROP AS
        SELECT g, 'Ona ' || initcap(translate(lpad(g::text, 7, '0'), '0123456789',
                                              'qwrtzpsdfg')) AS name
        FROM generate_series(0, %(count)s - 1) AS g""",
        """CREATE TEMP TABLE other_users ON COMMIT DROP AS
        WITH made AS (
            INSERT INTO accounts_user (password, is_superuser, email, full_name, role,
                is_active, email_verified_at, date_joined, security_stamp, language)
            SELECT '!' || md5(random()::text), false,
                   %(prefix)s || '.' || g || '@patients.test', name, 'patient', true,
                   now(), now(), md5(random()::text), 'en'
            FROM other_people ORDER BY g
            RETURNING id, email, full_name)
        SELECT * FROM made""",
        """INSERT INTO accounts_patientprofile (user_id, legal_name, date_of_birth, mrn,
            identity_verified_by_id, identity_method, identity_verified_at, created_at)
        SELECT id, full_name, date '1940-01-01' + (id %% 29200)::int,
               %(prefix)s || '-' || split_part(split_part(email, '@', 1), '.', 2),
               %(by)s, 'photo_id_in_person', now(), now()
        FROM other_users""",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, values)
    with connection.cursor() as cursor:  # as autovacuum would after a load this size
        cursor.execute("ANALYZE accounts_user, accounts_patientprofile")
    return count
