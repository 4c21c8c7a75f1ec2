# ruff: noqa: E501 (each line names the file the value was found in)
"""SHA-256 fingerprints of every secret-like value published in this repository.

Production refuses them (``support.secrets``). ``tests/support/test_secrets.py`` scans
the repository and fails, printing the lines to add here, when a new one appears.
"""

PUBLISHED = frozenset(
    {
        "02f5d9f83e57d695aad00f4792906a5b82f58ad14ce41e178aa54c542dfbd495",  # .env.example
        "1bacc2ec9607cd7fdb4ff47d81daddc660de69044843b690a415bdb57c5c97d1",  # .env.example
        "22173806fd8443a6edd4f58cb2ed5f01c73f14150c33a7f9b58bef0cb3a80db3",  # .env.example
        "38ae2981be5984424f7556107ea0b28775fc7f6d7d40c5fcc93026c891329bf9",  # .env.example
        "488353cb65b0a30aed884c026d0dd211c11929c458a12b333ba826f527f46859",  # .env.example
        "563c83ecc3e0b136f9015e6bbd0bc141c6a93233d1129330ac853d7eeab518c3",  # .env.example
        "64252eaad1ec83a1d7c0d32823edc9d801a6c568e0ec0df5d2be8af62913622e",  # .env.example
        "7ae475e2409fb6390aaa136e5c685396249f732b506ebb927516500a2638f8d2",  # .env.example
        "aa9532acd634089598fcce950d4c110d48e00f5d78c540a5e99a178319e56262",  # .env.example
        "fcaf9e40066e8856eb803818af32d84b814e9df3407867fb200033c587bdc9fc",  # .env.example
        "fd57aadf627c7da000a93647b86fa1e8d1a1f0283eba2acf55b808e61f84c387",  # .env.example
        "a75e78e98148a6e14b862205334089a05f71bf5afdd52f775b9b15f06e3a4d94",  # accounts/migrations/0001_initial.py
        "4e877b0e21b34ca3742764447f1dec19dfbc9841afe42f59a2e0c569a7fd1c21",  # bench/messaging_bench.py
        "60be6885451ff29c5892dc54819a01064315a177d79eaa2b581f5c0f307bf78e",  # bench/messaging_bench.py
        "6d1a824b4ec0d9b5b2adf2b6c0d4fdf293256101e96d8da84018407ede16e82e",  # config/settings.py
        "79cc9839fa0b46b4ac369aed4cc17fa25238e594adbb933f0d0c8373d3b5977c",  # config/settings.py
        "9e68e45ab822129d7569f8c6186cbd39619dcfea0e001c05ac5b0233169b81e0",  # config/settings.py
        "5698a34f837e0db07eb50706846b3bc46b9e3377ce25f565f669fcd9cbeecdc2",  # consent/fhir.py
        "6449fa2f63bd44a8b2084e952eb3b6440bce09be9e082551ad4aacaf8fc987dc",  # consent/fhir.py
        "72ac9f20ebdf6222712acfe579b68b464d77c31f1081fee327c4e87c8844f7a1",  # consent/fhir.py
        "ae5b80ea0b7d53d320c5252e8a733a65446c91053a2bba25035f3d5370765438",  # consent/fhir.py
        "bab3415412eb47af4de62446675c43114ec2f817bca8285b17f96319ede8492a",  # consent/fhir.py
        "cc95ba643c3488a1d6f3a26230cffe65161cdd02d78f76083c5666104a53c681",  # consent/fhir.py
        "ddb39aaed7c2b7a295b134cf6439f3cd6f70b4e27308341514c41959b0661939",  # consent/fhir.py
        "f8d0e7cd6062674d0abc4a2ca1db2da8704094b64a14cc01c7ac36edc27d6ae7",  # consent/fhir.py
        "c675ec76f0d289ff9882f35d6c247d10cf22775bf56900e88564bbc65cbfd8b2",  # constraints.txt
        "45283c576afa34330368c87cef2417be52b0490637f85d191c2219890c554a0a",  # deploy/portal.env.example
        "90bc269407784e1019a91b59f0203b91ec022ac4ea780e24801f15d25b7777d7",  # deploy/portal.env.example
        "90df6e8adde3ad0cbd006104884d5f3e3a97acff03571d2d69e1b5557eee39dd",  # deploy/portal.env.example
        "c2609dfc6bca81d48009484ca3cc4c4632bb16c6044aadd6df9c5a284a388c40",  # deploy/portal.env.example
        "e7061dd109b5dac386f4e4836d244e03a4160f8c0c051aa42cc665cc1fd6fb84",  # deploy/portal.env.example
        "59d7ab5844044076f62e77724459c0fb19e0b96ee40d3f00a8cd451fd6d22b2d",  # deploy/systemd/portal-web@.service
        "1b97314155af95611db6ff2694e141e377a58178335ac44b42527e2805d59edf",  # messaging/protected_pdf.py
        "17796e8074deb13ce76d482af7657d9e2b127f79e4a0bbc9ee487545a74d0304",  # records/models.py
        "a01049bc36d07601f8bed4e7dd4f3cb278b675aa0b83962ec72aeaa85123f55e",  # retention/migrations/0001_initial.py
        "ae9833c103c51aa682dc74fa7bfab723feaca2701a28948c4dc0d89461f579d7",  # scripts/test.sh
        "6dfa1ec815436323f9f829fb585bb742fdff550a0019cd2705d8d624e73812e0",  # tests/browser/test_portal_journey.py
        "7fac0299a4e2c6ef1f077dced11a323920b96f80e1654aaab1912904527dd7e6",  # tests/deploy/test_production_smoke.py
        "ffa43b6fb4350a1e768e97ddbab9fa3939a9fdb0afc7a4b77e95bfa0ca305460",  # tests/deploy/test_production_smoke.py
        "5aea06f691df684f249d20fa264bad8bc3d8ccf307f0d764f783acc2a92f3f87",  # tests/encryption/test_keyring.py
        "700e8734643f34fd0866a5cc55b2a0b3793b68679fcf4c76e7dcb2382c936919",  # tests/encryption/test_keyring.py
        "918c28f73f02ffcb653102a34bf5fbc3b7393e46945b7e99a19eafae2d80e724",  # tests/encryption/test_verify_command.py
        "dda886a02895156c352aa532168214b29587bc3b2106c6bb492cbe3990dfd8ed",  # tests/encryption/test_verify_command.py
        "d8b5c499ae2455315e1b11f6747c5341e44205434386e5e8001a8c56af60a5eb",  # tests/evidence/test_pack.py
        "fb39b90e607b83142abf8d057cfda25adef59543184e28cbff3e0ac9ef01caee",  # tests/messaging/test_delivery.py
        "d2fb5f91dedcf68bdc8097f5518e4014ded41a543f8b13d7a2a667f3749a2f37",  # tests/scripts/test_services.py
        "e42bf65cffb80bffcfe91142c0da3be405f1702e85e0c6a583d8f8efb691b922",  # tests/scripts/test_services.py
        "c65b4d2e03250fef18d595dbb5e0017d5e32134cc3f3c653e6e4ea8b6da4f40f",  # tests/support/test_env.py
        "d953e2c734488d20a3f34d76452d213fcc9a2c65c1346e5ad6ebd3b44f3b0f3a",  # tests/support/test_env.py
        "6717f40a62866f4136d1b202030b2b6a1cb472b16441336058388a795c964c83",  # tests/support/test_printing.py
        "1e55a6236f699ecb81689cf444e6ba8b02fcef1718dc2d85a5d34ffe6c1a49b9",  # tests/test_settings.py
        "57a9e66fdd1746a0aa1fbab2de2ee0d412b620036b0c676872c1d31e628ce54a",  # tests/test_settings.py
        "4b01349fc43da4a9dac5a728136e9af6d4b51c192ff4cda4d78ce6d787eb4615",  # tests/accounts/test_fresh_return.py
        "c8bba509a9f7dcefb2cf417ac8f200e2ed17962caa44a22b850927e7e896d375",  # tests/audit/test_search_people.py
    }
)
