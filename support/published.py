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
        "06e97820f3fd466bd9424cc6ed4be38572bfea800536f2de6a2757d0e621875f",  # compliance/traceability.toml
        "090bdc4940de515dc7b7cf094088811061bb419597688ad9cf29ada053abbee6",  # compliance/traceability.toml
        "1c0aacd01e3ddc0ad2ec8f020723cc26d05590ddfedb4a2db0c769ed4f5e8e2a",  # compliance/traceability.toml
        "21e64e8f536a2ab50a3b85d6c9b5021bffd7a2eb80c54cc56b1e3b2408544b1b",  # compliance/traceability.toml
        "22632b123e3f4d01d8b474dabc3d6d85b7e4df368ee70bec3ce91f8bd2d0def9",  # compliance/traceability.toml
        "2ac72cc1fbd27c46e9e3fe846310684831dc7ab370f5bce1a6f4401d469cd0f9",  # compliance/traceability.toml
        "350e1cce6cf3ba1b5c039f811572e3abbb18780bebd5f4f2db8acd48a6de4fbe",  # compliance/traceability.toml
        "433c055f774d03508a18ffc8774bb81e69e9e4c93dd8e6a1cba1f5bcc40949be",  # compliance/traceability.toml
        "47cfffb7eebcac619b7ba656ff3c2bae3cb12cf0ba649e4065934625b19268a2",  # compliance/traceability.toml
        "7baf0b0e165dbef5075d8dbee3a5cf1351201bf64604d0633491fa09f01df676",  # compliance/traceability.toml
        "8872bb95cdbe3406abe7cb9192d908242ed5f0dad4cf2ffc6426f8cb60afb033",  # compliance/traceability.toml
        "99b5998637752de61e4d1ee582e46a1b36a301f10a28b29de9b226b812f2e83d",  # compliance/traceability.toml
        "a15af73eb53209b0c35deb9585266181a50c1e956fcdc4294b0b492f4fbe85ed",  # compliance/traceability.toml
        "ace9950e986e93d113191bb3c5b8e1bdf5fa322e7e0aad2b8f9181b97427ddf8",  # compliance/traceability.toml
        "c07b5a45a55e08b027da2656388e23102b7c66138324ecc1711d28104d789dc7",  # compliance/traceability.toml
        "f8cc0bff2cd92593c42bef82abea537cc0a38f5f8edad4a950c9e4e45e2fa8ee",  # compliance/traceability.toml
        "6d1a824b4ec0d9b5b2adf2b6c0d4fdf293256101e96d8da84018407ede16e82e",  # config/settings.py
        "79cc9839fa0b46b4ac369aed4cc17fa25238e594adbb933f0d0c8373d3b5977c",  # config/settings.py
        "9e68e45ab822129d7569f8c6186cbd39619dcfea0e001c05ac5b0233169b81e0",  # config/settings.py
        "62a5c26b163dd82075742f7c1ec7fd455de31e1d84eee28bc6300221d9352e75",  # consent/migrations/0003_outside_disclosures.py
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
        "065e31211c7d0e4662c0cc20137ae34d60c909c9c68c4b6db6d2958d32e4d356",  # deploy/owner.env.example
        "1c4de208af08f4fecf6c356489d23184aa07af46a016ef3937815036549be1cf",  # deploy/portal.env.example
        "4e92ea4395eb5610a952d5c747aa2a20fe8b151855dc4383ca87f5d167bd0637",  # deploy/portal.env.example
        "7003470d8575865bf904852f178cfa14d239aa9199e7dcf8417f0d6ec86181cd",  # deploy/owner.env.example
        "850828e95e75ed8fe124a41bcbaabb853cf1f5f380ee5edbecd75b9794a86157",  # tests/test_settings.py
        "92a6e70fc66d811bb829a54ce4bf8400a63e47326e0dcd255c10fc9779f7bd21",  # tests/test_settings.py
        "93df2ed3c338909b4b31cbf83938ef086595761574f3d7db6a6d0c6fb2bea8f4",  # compliance/traceability.toml
        "b7b532e9f821ca4629241ec39fa53d417d06486ecff1e8991819c10d050d276e",  # tests/test_settings.py
        "c3e7143f82c4bd2408c181c3b0a413de0168c96e294d5f7645e1f53cb95f6ef2",  # compliance/traceability.toml
        "d632467e20bca8b7b9e14a7622604fd7e2fac90f80fbb8a66d517f18bcad550f",  # tests/test_settings.py
        "dd8b8bc715ed17ee51352196e09b5f7e635fa10f1004c64886c2926e56a3beba",  # tests/test_settings.py
        "f29cad8a8680d9464e6cf30edd4bdfeaae849203f2e642ec5f19fdda9eb9a7a6",  # tests/test_settings.py
        "770f027e62aacf7f75cfb255b24a5f00ea6e24ff86728fd9a16229c63cb85bba",  # compliance/migrations/0002_acknowledgements_append_only.py
        "5f2b771dfb50378c47967a13d7b088bb44d5c247eff1182f9846202223308d4e",  # tests/messaging/test_unread_marks.py
        "3f7c1f1990815762d5179ee682e75f4d245e690f4167db0ab40263e3b12fb8b8",  # tests/records/test_queue_size.py
        "b82babf66a487e6d7dbbfc64f201fb154b5ef75a1d5211b4412894b2b9a22f4d",  # audit/migrations/0005_events_by_time.py
        "e1404f56326d3048041cda47d9d5abb0ca5ac680d574fbdab7676db2c44a2d1f",  # tests/deploy/soak_services.py
    }
)
