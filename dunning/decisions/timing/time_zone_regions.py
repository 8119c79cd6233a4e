"""Which time zone a state or province keeps, for countries that span several zones.

Source: the IANA time zone database (``zone.tab`` / ``zone1970.tab`` region comments, as
shipped in the ``tzdata`` package), read per ISO 3166-2 subdivision. A subdivision split
between zones maps to the zone most of its people live in (US: Tennessee and Kentucky,
Indiana, Florida's panhandle, west Texas, eastern Oregon, northern Idaho, the Dakotas,
Nebraska and Kansas keep a minority in the neighbouring zone; Russia's Sakha Republic and
Brazil's Amazonas likewise).

Codes are ISO 3166-2 without the country prefix, as Chargebee's ``billing_address.state_code``
carries them; names are what ``billing_address.state`` usually holds, matched without case
or accents. Postal-code prefixes (US ZIP, Canadian postal code, Australian postcode) name
the state when a billing address has a postcode but no state: USPS ZIP code prefixes,
Canada Post forward sortation areas, Australia Post postcode ranges.
"""

from __future__ import annotations

# country -> zone -> "CODE Name" entries, one per subdivision.
REGION_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    "US": {
        "America/New_York": (
            "CT Connecticut", "DE Delaware", "DC District of Columbia", "FL Florida",
            "GA Georgia", "KY Kentucky", "ME Maine", "MD Maryland", "MA Massachusetts",
            "NH New Hampshire", "NJ New Jersey", "NY New York", "NC North Carolina", "OH Ohio",
            "PA Pennsylvania", "RI Rhode Island", "SC South Carolina", "VT Vermont",
            "VA Virginia", "WV West Virginia",
        ),
        "America/Detroit": ("MI Michigan",),
        "America/Indiana/Indianapolis": ("IN Indiana",),
        "America/Chicago": (
            "AL Alabama", "AR Arkansas", "IL Illinois", "IA Iowa", "KS Kansas", "LA Louisiana",
            "MN Minnesota", "MS Mississippi", "MO Missouri", "NE Nebraska", "ND North Dakota",
            "OK Oklahoma", "SD South Dakota", "TN Tennessee", "TX Texas", "WI Wisconsin",
        ),
        "America/Denver": ("CO Colorado", "MT Montana", "NM New Mexico", "UT Utah", "WY Wyoming"),
        "America/Boise": ("ID Idaho",),
        "America/Phoenix": ("AZ Arizona",),
        "America/Los_Angeles": ("CA California", "NV Nevada", "OR Oregon", "WA Washington"),
        "America/Anchorage": ("AK Alaska",),
        "Pacific/Honolulu": ("HI Hawaii",),
        "America/Puerto_Rico": ("PR Puerto Rico",),
        "America/St_Thomas": ("VI Virgin Islands",),
        "Pacific/Guam": ("GU Guam",),
        "Pacific/Pago_Pago": ("AS American Samoa",),
        "Pacific/Saipan": ("MP Northern Mariana Islands",),
    },
    "CA": {
        "America/St_Johns": ("NL Newfoundland and Labrador",),
        "America/Halifax": ("NS Nova Scotia", "PE Prince Edward Island"),
        "America/Moncton": ("NB New Brunswick",),
        "America/Toronto": ("ON Ontario", "QC Quebec"),
        "America/Iqaluit": ("NU Nunavut",),
        "America/Winnipeg": ("MB Manitoba",),
        "America/Regina": ("SK Saskatchewan",),
        "America/Edmonton": ("AB Alberta", "NT Northwest Territories"),
        "America/Vancouver": ("BC British Columbia",),
        "America/Whitehorse": ("YT Yukon",),
    },
    "AU": {
        "Australia/Sydney": ("NSW New South Wales", "ACT Australian Capital Territory"),
        "Australia/Melbourne": ("VIC Victoria",),
        "Australia/Brisbane": ("QLD Queensland",),
        "Australia/Adelaide": ("SA South Australia",),
        "Australia/Darwin": ("NT Northern Territory",),
        "Australia/Perth": ("WA Western Australia",),
        "Australia/Hobart": ("TAS Tasmania",),
    },
    "BR": {
        "America/Sao_Paulo": (
            "SP Sao Paulo", "RJ Rio de Janeiro", "MG Minas Gerais", "ES Espirito Santo",
            "PR Parana", "SC Santa Catarina", "RS Rio Grande do Sul", "GO Goias",
            "DF Distrito Federal",
        ),
        "America/Fortaleza": ("CE Ceara", "MA Maranhao", "PI Piaui", "RN Rio Grande do Norte",
                              "PB Paraiba"),
        "America/Recife": ("PE Pernambuco",),
        "America/Maceio": ("AL Alagoas", "SE Sergipe"),
        "America/Bahia": ("BA Bahia",),
        "America/Belem": ("PA Para", "AP Amapa"),
        "America/Araguaina": ("TO Tocantins",),
        "America/Campo_Grande": ("MS Mato Grosso do Sul",),
        "America/Cuiaba": ("MT Mato Grosso",),
        "America/Porto_Velho": ("RO Rondonia",),
        "America/Boa_Vista": ("RR Roraima",),
        "America/Manaus": ("AM Amazonas",),
        "America/Rio_Branco": ("AC Acre",),
    },
    "MX": {
        "America/Mexico_City": (
            "CMX Ciudad de Mexico", "AGU Aguascalientes", "CHP Chiapas", "COL Colima",
            "GUA Guanajuato", "GRO Guerrero", "HID Hidalgo", "JAL Jalisco", "MEX Mexico",
            "MIC Michoacan", "MOR Morelos", "OAX Oaxaca", "PUE Puebla", "QUE Queretaro",
            "SLP San Luis Potosi", "TAB Tabasco", "TLA Tlaxcala", "VER Veracruz",
            "ZAC Zacatecas",
        ),
        "America/Monterrey": ("NLE Nuevo Leon", "COA Coahuila", "TAM Tamaulipas", "DUR Durango"),
        "America/Merida": ("YUC Yucatan", "CAM Campeche"),
        "America/Cancun": ("ROO Quintana Roo",),
        "America/Chihuahua": ("CHH Chihuahua",),
        "America/Mazatlan": ("SIN Sinaloa", "BCS Baja California Sur", "NAY Nayarit"),
        "America/Hermosillo": ("SON Sonora",),
        "America/Tijuana": ("BCN Baja California",),
    },
    "RU": {
        "Europe/Kaliningrad": ("KGD Kaliningrad",),
        "Europe/Moscow": (
            "MOW Moscow", "MOS Moscow Oblast", "SPE Saint Petersburg", "LEN Leningrad",
            "AD Adygea", "ARK Arkhangelsk", "BEL Belgorod", "BRY Bryansk", "CE Chechnya",
            "CU Chuvashia", "DA Dagestan", "IN Ingushetia", "IVA Ivanovo",
            "KB Kabardino-Balkaria", "KL Kalmykia", "KLU Kaluga", "KC Karachay-Cherkessia",
            "KR Karelia", "KIR Kirov", "KO Komi", "KOS Kostroma", "KDA Krasnodar",
            "KRS Kursk", "LIP Lipetsk", "ME Mari El", "MO Mordovia", "MUR Murmansk",
            "NEN Nenets", "NIZ Nizhny Novgorod", "NGR Novgorod", "ORL Oryol", "PNZ Penza",
            "PSK Pskov", "ROS Rostov", "RYA Ryazan", "SE North Ossetia", "SMO Smolensk",
            "STA Stavropol", "TA Tatarstan", "TAM Tambov", "TUL Tula", "TVE Tver",
            "VLA Vladimir", "VGG Volgograd", "VLG Vologda", "VOR Voronezh", "YAR Yaroslavl",
        ),
        "Europe/Samara": ("SAM Samara", "UD Udmurtia"),
        "Europe/Astrakhan": ("AST Astrakhan",),
        "Europe/Saratov": ("SAR Saratov",),
        "Europe/Ulyanovsk": ("ULY Ulyanovsk",),
        "Asia/Yekaterinburg": (
            "SVE Sverdlovsk", "BA Bashkortostan", "CHE Chelyabinsk", "KGN Kurgan",
            "KHM Khanty-Mansi", "ORE Orenburg", "PER Perm", "TYU Tyumen", "YAN Yamalo-Nenets",
        ),
        "Asia/Omsk": ("OMS Omsk",),
        "Asia/Novosibirsk": ("NVS Novosibirsk",),
        "Asia/Barnaul": ("ALT Altai Krai", "AL Altai Republic"),
        "Asia/Tomsk": ("TOM Tomsk",),
        "Asia/Novokuznetsk": ("KEM Kemerovo",),
        "Asia/Krasnoyarsk": ("KYA Krasnoyarsk", "KK Khakassia", "TY Tuva"),
        "Asia/Irkutsk": ("IRK Irkutsk", "BU Buryatia"),
        "Asia/Chita": ("ZAB Zabaykalsky",),
        "Asia/Yakutsk": ("SA Sakha", "AMU Amur"),
        "Asia/Vladivostok": ("PRI Primorsky", "KHA Khabarovsk", "YEV Jewish Autonomous Oblast"),
        "Asia/Magadan": ("MAG Magadan",),
        "Asia/Sakhalin": ("SAK Sakhalin",),
        "Asia/Kamchatka": ("KAM Kamchatka",),
        "Asia/Anadyr": ("CHU Chukotka",),
    },
    "ID": {
        "Asia/Jakarta": (
            "JK Jakarta", "JB Jawa Barat", "JT Jawa Tengah", "JI Jawa Timur", "BT Banten",
            "YO Yogyakarta", "AC Aceh", "SU Sumatera Utara", "SB Sumatera Barat", "RI Riau",
            "KR Kepulauan Riau", "JA Jambi", "SS Sumatera Selatan", "BB Bangka Belitung",
            "BE Bengkulu", "LA Lampung",
        ),
        "Asia/Pontianak": ("KB Kalimantan Barat", "KT Kalimantan Tengah"),
        "Asia/Makassar": (
            "BA Bali", "NB Nusa Tenggara Barat", "NT Nusa Tenggara Timur",
            "KS Kalimantan Selatan", "KI Kalimantan Timur", "KU Kalimantan Utara",
            "SN Sulawesi Selatan", "SR Sulawesi Barat", "ST Sulawesi Tengah",
            "SG Sulawesi Tenggara", "SA Sulawesi Utara", "GO Gorontalo",
        ),
        "Asia/Jayapura": (
            "MA Maluku", "MU Maluku Utara", "PA Papua", "PB Papua Barat", "PD Papua Barat Daya",
            "PE Papua Pegunungan", "PS Papua Selatan", "PT Papua Tengah",
        ),
    },
}  # fmt: skip

# Postal-code prefixes -> subdivision code. US: the first three ZIP digits (inclusive
# ranges); military (AA/AE/AP) and the Pacific freely associated states are left out.
US_ZIP3_STATES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"),
    (30, 38, "NH"), (39, 49, "ME"), (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"),
    (60, 69, "CT"), (70, 89, "NJ"), (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"),
    (200, 200, "DC"), (201, 201, "VA"), (202, 205, "DC"), (206, 219, "MD"), (220, 246, "VA"),
    (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"), (300, 319, "GA"), (320, 339, "FL"),
    (341, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"),
    (400, 427, "KY"), (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"),
    (530, 549, "WI"), (550, 567, "MN"), (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"),
    (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"), (680, 693, "NE"),
    (700, 714, "LA"), (716, 729, "AR"), (730, 732, "OK"), (733, 733, "TX"), (734, 749, "OK"),
    (750, 799, "TX"), (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"),
    (850, 865, "AZ"), (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"),
    (967, 968, "HI"), (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
)  # fmt: skip

# Canada: the first letter of the postal code (X is shared by NT and NU, so it is left out).
CA_POSTAL_PROVINCES = {
    "A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC", "K": "ON",
    "L": "ON", "M": "ON", "N": "ON", "P": "ON", "R": "MB", "S": "SK", "T": "AB", "V": "BC",
    "Y": "YT",
}  # fmt: skip

# Australia: four-digit postcode ranges (inclusive). ACT's own ranges keep Sydney's time.
AU_POSTCODE_STATES: tuple[tuple[int, int, str], ...] = (
    (200, 299, "ACT"), (800, 999, "NT"), (1000, 2999, "NSW"), (3000, 3999, "VIC"),
    (4000, 4999, "QLD"), (5000, 5999, "SA"), (6000, 6999, "WA"), (7000, 7999, "TAS"),
    (8000, 8999, "VIC"), (9000, 9999, "QLD"),
)  # fmt: skip

# A country spanning several UTC offsets, when the address names no state: the zone
# Dunwell assumes. Each names why; countries missing here fall back to the tz database's
# "most of the country" row, or stay unknown.
COUNTRY_GUESSES: dict[str, tuple[str, str]] = {
    "US": ("America/Chicago", "no zone holds most Americans; Central is within two hours "
                              "of all four mainland zones"),
    "CA": ("America/Toronto", "Ontario and Quebec hold most Canadians"),
    "AU": ("Australia/Sydney", "New South Wales, Victoria and the ACT keep Sydney's time"),
    "BR": ("America/Sao_Paulo", "the south-east states on Brasilia time hold most Brazilians"),
    "MX": ("America/Mexico_City", "central Mexico holds most Mexicans"),
    "RU": ("Europe/Moscow", "European Russia on Moscow time holds most Russians"),
    "ID": ("Asia/Jakarta", "Java and Sumatra hold most Indonesians"),
    "CN": ("Asia/Shanghai", "all of China officially keeps Beijing time"),
    "XK": ("Europe/Belgrade", "Kosovo keeps Central European time, as Serbia does"),
}  # fmt: skip
