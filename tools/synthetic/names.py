"""Reference lists for the synthetic population: names, streets, places, services.

Lists are ordered by rough frequency (most common first) so that rank-based weights make common
names repeat as they do in real data. Everything here is invented or public knowledge; phone
numbers come from Ofcom's drama ranges and e-mail domains are reserved ``.example`` names.
"""

from __future__ import annotations

BOY_NAMES: tuple[str, ...] = tuple(
    """
Oliver Muhammad George Noah Arthur Leo Harry Oscar Archie Henry Theodore Freddie Jack Charlie Theo
Alfie Jacob Thomas Finley Arlo William Lucas Roman Tommy Isaac Teddy Alexander Luca Edward James
Joshua Albie Elijah Max Mohammed Reggie Hugo Louie Ethan Joseph Rory Jaxon Sebastian Ezra Logan
Daniel Samuel Grayson Ronnie Ralph Harrison Jude Benjamin Toby Reuben Frankie Mason Riley Zachary
Dylan Ellis Jenson Louis Albert Tobias Frederick Alfred Charles Jesse Ryan Harvey Elliot Michael
Adam Caleb Oakley Stanley Liam Matthew Hunter Kai Carter Jayden Nathan Aaron Connor Callum Kyle
Lewis Jamie Owen Rhys Declan Conor Cian Patrick Sean Aidan Niall Eoin Dominic Gabriel Nathaniel
Felix Jasper Rufus Austin Bobby Jake Luke Mark John David Robert Peter Paul Christopher Andrew
Anthony Stephen Richard Kieran Bradley Jordan Tyler Brandon Ashton Kayden Mohammad Ahmed Ali Omar
Yusuf Ibrahim Zain Ayaan Hamza Ismail Bilal Arjun Aarav Rohan Dev Krish Vihaan Aryan Kacper Jakub
Szymon Filip Oskar Mateusz Oluwaseun Chidi Kwame Tobi Emeka Tariq Hassan Hussain Kian Jayce Ollie
Sonny Finn Elliott Aiden Blake Cameron Morgan Spencer Vincent Leon Marcus Nico Mateo Rafael
Santiago José André Noël Hamish Angus Fraser Euan Gethin Dafydd Ieuan Cai Nicholas Francis
Reginald Ronald Archibald Sam Tom Ben Joe Alex Harley Kenzie Otis Ernest Wilfred Alistair Desmond
""".split()
)

GIRL_NAMES: tuple[str, ...] = tuple(
    """
Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie Sophia Isabella Grace Daisy Sienna
Poppy Elsie Emily Ella Evelyn Phoebe Sofia Evie Charlotte Harper Millie Matilda Maya Sophie Alice
Emilia Isabelle Ruby Luna Maisie Aria Penelope Mila Bonnie Eva Hallie Eliza Ada Violet Esme
Arabella Imogen Jessica Delilah Thea Lottie Hannah Margot Chloe Layla Iris Aurora Erin Georgia
Scarlett Robyn Lucy Holly Megan Lauren Abigail Bethany Jasmine Leah Zara Zoë Chloé Aisha Fatima
Maryam Amira Hafsa Inaya Zainab Khadija Priya Anaya Saanvi Diya Aanya Zuzanna Julia Lena Oliwia
Hanna Amara Adaeze Chiamaka Temi Ife Niamh Aoife Siobhan Ciara Orla Saoirse Caitlin Bronwen Cerys
Seren Ffion Mali Eleanor Elizabeth Katherine Margaret Victoria Rebecca Rachel Sarah Laura Amy Emma
Jennifer Natalie Danielle Stephanie Kirsty Gemma Nicole Courtney Jade Paige Shannon Kayleigh Tia
Demi Libby Ellie Katie Lizzie Annie Beatrice Clara Edith Mabel Nancy Ottilie Pippa Rose Sadie
Summer Tilly Heidi Harriet Martha Molly Nell Renée Anaïs Léa Noémie Zoe Maria Anna Natalia Elena
Gabriela Sara Yasmin Safa Halima Ayesha Mariam Sana Kiara Jaya Naomi Esther Ruth Abby Caroline
Philippa Alexandra Susannah Kate Bella Frances Josephine Louisa Wren Skye Maddison Kacey
""".split()
)

# formal -> familiar; a feed that knows a child by the familiar form is a linkage problem.
NICKNAMES: dict[str, str] = {
    "Alfred": "Alfie", "Margaret": "Maisie", "Eleanor": "Ellie", "Charles": "Charlie",
    "Frederick": "Freddie", "Henry": "Harry", "John": "Jack", "Katherine": "Kate",
    "William": "Bill", "Samuel": "Sam", "Thomas": "Tom", "Elizabeth": "Lizzie",
    "Oliver": "Ollie", "Archibald": "Archie", "Theodore": "Theo", "Alexander": "Alex",
    "Benjamin": "Ben", "Joseph": "Joe", "Daniel": "Danny", "Edward": "Teddy", "James": "Jamie",
    "Robert": "Bobby", "Matthew": "Matt", "Christopher": "Chris", "Nicholas": "Nick",
    "Michael": "Mikey", "Jacob": "Jake", "Zachary": "Zach", "Isabella": "Bella",
    "Isabelle": "Izzy", "Charlotte": "Lottie", "Matilda": "Tilly", "Florence": "Flo",
    "Amelia": "Millie", "Abigail": "Abby", "Rebecca": "Becky", "Victoria": "Tori",
    "Jessica": "Jess", "Georgia": "Georgie", "Penelope": "Penny", "Harriet": "Hattie",
    "Philippa": "Pippa", "Reginald": "Reggie", "Albert": "Albie", "Francis": "Frankie",
    "Ronald": "Ronnie", "Louis": "Louie", "Stanley": "Stan", "Anthony": "Tony",
    "Dominic": "Dom", "Alexandra": "Lexi", "Susannah": "Suzie", "Josephine": "Josie",
}

SURNAMES: tuple[str, ...] = tuple(
    """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson
Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin
Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson
Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell
Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson
Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes
Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham
Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox
Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien
Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett
Webster Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland
Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane
Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman
Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper
Coleman Watkins Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston
Gordon Doyle Wallace George Jordan Hutchinson Rahman Miah Akhtar Mahmood Iqbal Chaudhry Hossain
Nowak Kowalski Wiśniewska Lewandowski Kaminski Okafor Adeyemi Mensah Okonkwo Boateng Asante Owusu
Nguyen Wang Li Chen Zhang Liu Costa Silva Santos Pereira Ferreira Murphy-Jones MacDonald McKenzie
Fitzgerald D'Souza D'Silva Fernandes Rodrigues Lloyd-Webber
Ward-Prowse Smith-Rowe Bowes-Lyon Hyde-Smith Jones-Parry Fenwick Haworth Sykes Hirst Firth Pickering
Metcalfe Bottomley Ackroyd Illingworth Crowther Barraclough Ramsden Greenwood Whiteley Brierley
Entwistle Hargreaves Duckworth Ormerod Pilkington Tattersall Heywood Crompton Beardsworth Kershaw
Penrose Trelawny Pascoe Nancarrow Tregear Chynoweth Jago Rowe Quiller Polglase Laity Trevithick
Brontë Lefèvre Benoît Müller Schäfer Łukasik Zieliński Pérez García Hernández Doherty Gallagher
O'Sullivan O'Reilly McLaughlin Quinn Brennan Devlin Kavanagh Flanagan MacLeod Fraser Sinclair
Cunningham Buchanan Drummond Llewellyn Pritchard Vaughan Prosser Bevan Powell-Jones
""".split()
)
# Multi-word surnames cannot survive str.split(): these are appended whole.
SURNAMES = tuple(dict.fromkeys(
    SURNAMES + ("Da Silva", "Van Dijk", "De Souza", "St John", "Ap Rhys", "Van der Berg", "St Clair")
))

TITLES_F: tuple[str, ...] = ("Mrs", "Ms", "Miss", "Mrs", "Ms", "Dr")
TITLES_M: tuple[str, ...] = ("Mr", "Mr", "Mr", "Dr")
ADULT_MALE: tuple[str, ...] = tuple(
    """David Paul Mark Andrew James Richard Daniel Christopher Michael Stephen Lee Craig Gareth Wayne
Darren Jason Neil Simon Matthew Adam Carl Scott Dean Imran Tariq Rajesh Sanjay Piotr Tomasz Emeka
Kwame Ian Gary Kevin Robert Anthony Martin Jonathan Sean Liam Ryan Ashley Jamie Nathan Shaun""".split()
)
ADULT_FEMALE: tuple[str, ...] = tuple(
    """Sarah Emma Claire Louise Nicola Michelle Rachel Kelly Lisa Laura Joanne Amy Gemma Rebecca
Natalie Victoria Samantha Jennifer Helen Hayley Kirsty Stacey Leanne Zoë Nadia Shabana Farah Priya
Agnieszka Joanna Ngozi Abena Siobhan Charlotte Catherine Jessica Lucy Danielle Donna Tracey""".split()
)

STREET_STEMS: tuple[str, ...] = tuple(
    """Acacia Albert Alexandra Alma Ash Aspen Beech Birch Bridge Broad Castle Cedar Chapel Cherry
Church Clarence Coronation Cromwell Dale Elm Fir Forest George Gladstone Green Grove Hawthorn High
Highfield Hill Holly King Kings Laburnum Lime Manor Maple Market Meadow Mill Nelson New North Oak
Orchard Park Queen Queens Railway Richmond Rose School Spring Station Stanley Sycamore Tennyson
Trinity Victoria Wellington West Willow Windsor York Abbey Alder Ashgrove Bank Beaconsfield
Belgrave Blenheim Brook Burns Byron Canal Carlton Cavendish Chatsworth Chestnut
Clifton Coleridge Common Cooper Dalton Derwent Devonshire Dickens Eastfield Edward Elmfield Fairfield
Farm Ferndale Field Foxglove Garden Gordon Grange Grosvenor Hadley Hampton Harrow Heath Heather
Hereward Highgate Hollins Howard Kelvin Kingsway Lancaster Larch Lark Leicester Linden Lodge
Lonsdale Lowther Ludlow Malvern Marlborough Mayfield Melbourne Milton Moor Moorland Mount Newland
Norfolk Oakwood Osborne Oxford Paddock Palmerston Peel Pennine Pine Poplar Primrose Priory Prospect
Raglan Ravenscroft Regent Ribble Riverside Rowan Rutland Salisbury
Sandringham Saxon Selbourne Severn Shakespeare Sherwood Somerset Southfield Springfield Stafford
Sunnyside Sutherland Talbot Thornfield Tudor Tyne Union Vicarage Wakefield Walnut Warwick Waterloo
Wentworth Westbourne Westfield Wharf Whitehall Windmill Woodland Wordsworth Wycliffe""".split()
)
STREET_STEMS = tuple(
    dict.fromkeys(STREET_STEMS + ("Bowling Green", "St Andrew's", "St John's", "St Mary's", "Lady Margaret"))
)
STREET_SUFFIXES: tuple[str, ...] = (
    "Road", "Street", "Road", "Street", "Lane", "Close", "Avenue", "Drive", "Way", "Gardens", "Crescent",
    "Grove", "Place", "Court", "Terrace", "Mews", "Rise", "View", "Walk", "Row", "Parade", "Square",
)
HOUSE_NAMES: tuple[str, ...] = (
    "Rose Cottage", "The Old Rectory", "Orchard House", "Ivy Cottage", "The Laurels", "Hillcrest",
    "Woodlands", "Meadow View", "The Willows", "Holly Lodge", "Brook House", "The Coach House",
)
LOCALITIES: tuple[str, ...] = (
    "Upper Town", "Lower Green", "Westwood", "Northfield", "Southgate", "Eastville", "Hillside",
    "Moorside", "Brookfield", "Parkside", "Newtown", "Old Town", "Kingsmead", "Longley", "Ashby",
)

SCHOOL_STEMS: tuple[str, ...] = (
    "Oakfield", "Hillside", "Brookside", "Meadowbank", "Westfield", "Northgate", "Eastbrook",
    "Greenacres", "Parkside", "Woodlands", "Springfield", "Beechwood", "Highcliffe", "Riverside",
    "Kingsmead", "Fairfield", "Moorside", "Southfields", "Castle View", "Cherry Tree", "Rosewood",
    "Larkrise", "Thornhill", "St Mary's", "St John's", "St Peter's", "Holy Trinity", "St Joseph's",
    "Our Lady of Lourdes", "All Saints", "Christ Church", "St Anne's", "Sacred Heart", "Ashgrove",
    "Willowbrook", "Elmhurst", "Hollybank", "Foxwood", "Badger Hill", "Sunnybank", "Windmill Hill",
)
PRIMARY_SUFFIXES: tuple[str, ...] = (
    "Primary School", "Primary School", "Church of England Primary School", "Catholic Primary School",
    "Infant and Junior School", "Community Primary School", "Primary Academy", "Junior and Infant School",
)
SECONDARY_SUFFIXES: tuple[str, ...] = (
    "Academy", "High School", "School", "Community College", "Secondary School", "Catholic High School",
    "Grammar School", "School and Sixth Form", "Church of England Academy",
)
CTF_SUPPLIERS: tuple[str, ...] = ("SIMS", "SIMS", "Arbor", "Bromcom", "ScholarPack", "RM Integris")
PRACTICE_PATTERNS: tuple[str, ...] = (
    "The {stem} Surgery", "{stem} Medical Centre", "{stem} Health Centre", "{stem} Medical Practice",
    "{stem} Family Practice", "Dr {surname} and Partners", "{town} Road Surgery",
)

ETHNICITY_CODES: tuple[str, ...] = (
    "WBRI", "WBRI", "WBRI", "WBRI", "WBRI", "WIRI", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH",
    "AIND", "APKN", "APKN", "ABAN", "AOTH", "BCRB", "BAFR", "BAFR", "BOTH", "CHNE", "OOTH", "REFU",
)
LANGUAGE_CODES: tuple[str, ...] = (
    "ENG", "ENG", "ENG", "ENG", "ENG", "ENG", "URD", "PNJ", "POL", "BNG", "GUJ", "ARA", "SOM", "ROM",
)
SEN_TYPES: tuple[str, ...] = ("SLCN", "SEMH", "MLD", "ASD", "SPLD", "OTH", "PD", "HI", "VI")
DISABILITY_CODES: tuple[str, ...] = ("MOB", "HAND", "PC", "INC", "COMM", "LD", "HEAR", "VIS", "BEH", "CON")

PRACTITIONER_ROLES: tuple[str, ...] = (
    "Health Visitor", "School Nurse", "Class Teacher", "Special Educational Needs Coordinator",
    "Family Support Worker", "Education Welfare Officer", "Learning Mentor", "Youth Worker", "Midwife",
    "Designated Safeguarding Lead", "Early Help Practitioner", "Children's Centre Outreach Worker",
)
ICS_TEAMS: dict[str, tuple[str, ...]] = {
    "social_care": ("Children in Need Team", "Child Protection Team", "Family Support Team",
                    "Children with Disabilities Team", "Assessment Team"),
    "youth_offending": ("Youth Offending Service", "Youth Justice Team"),
    "sexual_health": ("Young People's Sexual Health Service", "Contraception and Sexual Health Clinic"),
    "mental_health": ("CAMHS", "Child and Adolescent Mental Health Service"),
    "substance_misuse": ("Young People's Substance Misuse Service", "Drug and Alcohol Team"),
    "other": ("Early Help Hub", "Young Carers Service", "Family Intervention Project"),
}
LEAVING_CARE_TEAM = "Leaving Care Team"

CASE_NOTES: tuple[str, ...] = (
    "Concerns raised about attendance and punctuality since half term.",
    "Referred by school nurse following disclosure; parent informed.",
    "Mother reports difficulties with sleep and behaviour at home.",
    "Home visit completed; housing conditions discussed with family.",
    "Young person reluctant to engage; agreed to meet at school.",
    "Father in custody; child asked about contact arrangements.",
)
ASSESSMENT_TEXT: tuple[str, ...] = (
    "Development: speech delayed for age; Family: parental mental health affects routines.",
    "Learning: below expected level in reading; Health: frequent absences for appointments.",
    "Behaviour: exclusions this term; Relationships: conflict with older sibling.",
    "Emotional wellbeing: low mood and anxiety; Carer: struggling with debt.",
)
DIAGNOSES: tuple[str, ...] = (
    "Asthma", "Attention deficit hyperactivity disorder", "Type 1 diabetes", "Anxiety disorder",
    "Autism spectrum condition", "Epilepsy", "Eczema", "Depressive episode", "Coeliac disease",
)

# Ofcom drama numbers by postcode area, so numbers look local yet can never ring anyone.
PHONE_PREFIX: dict[str, str] = {
    "M": "0161 496 0", "OL": "0161 496 0", "SK": "0161 496 0", "BL": "0161 496 0", "WN": "0161 496 0",
    "L": "0151 496 0", "CH": "0151 496 0", "WA": "0151 496 0", "PR": "0151 496 0",
    "B": "0121 496 0", "WS": "0121 496 0", "WV": "0121 496 0", "DY": "0121 496 0", "CV": "0121 496 0",
    "LS": "0113 496 0", "BD": "0113 496 0", "HX": "0113 496 0", "HD": "0113 496 0", "WF": "0113 496 0",
    "S": "0114 496 0", "DN": "0114 496 0", "NG": "0115 496 0", "DE": "0115 496 0", "LE": "0116 496 0",
    "BS": "0117 496 0", "BA": "0117 496 0", "RG": "0118 496 0", "SL": "0118 496 0",
    "NE": "0191 498 0", "SR": "0191 498 0", "DH": "0191 498 0", "TS": "0191 498 0",
}
LONDON_PREFIX = "020 7946 0"
DEFAULT_PREFIX = "01632 960"
MOBILE_PREFIX = "07700 900"
LONDON_AREAS = frozenset(("E", "EC", "N", "NW", "SE", "SW", "W", "WC"))
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net", "mail.example")

# (DfE LA code, name, county, "Town=districts;Town=districts"). Districts are postcode outward
# codes, "S60-66" meaning S60 to S66.
LOCAL_AUTHORITIES: tuple[tuple[str, str, str, str], ...] = (
    ("201", "City of London", "Greater London", "London=EC1A EC2V EC3M EC4M"),
    ("202", "Camden", "Greater London", "London=NW1 NW3 NW5 NW6 WC1H WC1N"),
    ("203", "Greenwich", "Greater London", "London=SE2 SE3 SE7 SE9 SE10 SE18 SE28"),
    ("204", "Hackney", "Greater London", "London=E2 E5 E8 E9 N1 N16"),
    ("205", "Hammersmith and Fulham", "Greater London", "London=W6 W12 W14 SW6"),
    ("206", "Islington", "Greater London", "London=N1 N4 N5 N7 N19 EC1V"),
    ("207", "Kensington and Chelsea", "Greater London", "London=W8 W10 W11 SW3 SW5 SW7 SW10"),
    ("208", "Lambeth", "Greater London", "London=SE11 SE24 SE27 SW2 SW4 SW8 SW9 SW16"),
    ("209", "Lewisham", "Greater London", "London=SE4 SE6 SE8 SE12 SE13 SE14 SE23 SE26"),
    ("210", "Southwark", "Greater London", "London=SE1 SE5 SE15 SE16 SE17 SE21 SE22"),
    ("211", "Tower Hamlets", "Greater London", "London=E1 E1W E3 E14"),
    ("212", "Wandsworth", "Greater London", "London=SW11 SW12 SW15 SW17 SW18 SW19"),
    ("213", "Westminster", "Greater London", "London=W1D W1H W2 W9 NW8 SW1A SW1P SW1V SW1W"),
    ("301", "Barking and Dagenham", "Greater London", "Barking=IG11;Dagenham=RM8-10"),
    ("302", "Barnet", "Greater London", "London=N2 N3 N11 N12 N20 NW4 NW7 NW9 NW11;Barnet=EN4-5"),
    ("303", "Bexley", "Greater London", "Bexleyheath=DA5-7 DA14-18"),
    ("304", "Brent", "Greater London", "London=NW2 NW6 NW10;Wembley=HA0 HA9"),
    ("305", "Bromley", "Greater London", "Bromley=BR1-7;London=SE20"),
    ("306", "Croydon", "Greater London", "Croydon=CR0 CR2 CR5 CR7-8;London=SE19 SE25"),
    ("307", "Ealing", "Greater London", "London=W3 W5 W7 W13;Southall=UB1-2;Greenford=UB6"),
    ("308", "Enfield", "Greater London", "Enfield=EN1-3;London=N9 N13 N14 N18 N21"),
    ("309", "Haringey", "Greater London", "London=N4 N6 N8 N10 N15 N17 N22"),
    ("310", "Harrow", "Greater London", "Harrow=HA1-3 HA5 HA7 HA8"),
    ("311", "Havering", "Greater London", "Romford=RM1-7 RM11-14"),
    ("312", "Hillingdon", "Greater London", "Uxbridge=UB3-4 UB7-10;Ruislip=HA4 HA6"),
    ("313", "Hounslow", "Greater London", "Hounslow=TW3-5 TW7-8 TW13-14;London=W4"),
    ("314", "Kingston upon Thames", "Greater London", "Kingston upon Thames=KT1-3 KT5-6 KT9"),
    ("315", "Merton", "Greater London", "London=SW19-20;Mitcham=CR4;Morden=SM4"),
    ("316", "Newham", "Greater London", "London=E6 E7 E12 E13 E15 E16 E20"),
    ("317", "Redbridge", "Greater London", "Ilford=IG1-6 IG8;London=E11 E18"),
    ("318", "Richmond upon Thames", "Greater London", "Richmond=TW1-2 TW9-12;London=SW13-14"),
    ("319", "Sutton", "Greater London", "Sutton=SM1-3 SM5-6"),
    ("320", "Waltham Forest", "Greater London", "London=E4 E10 E11 E17"),
    ("330", "Birmingham", "West Midlands", "Birmingham=B1-38 B42-45"),
    ("331", "Coventry", "West Midlands", "Coventry=CV1-6"),
    ("332", "Dudley", "West Midlands", "Dudley=DY1-3 DY5-6 DY8-9;Halesowen=B62-63"),
    ("333", "Sandwell", "West Midlands", "West Bromwich=B70-71;Oldbury=B68-69;Smethwick=B66-67"),
    ("334", "Solihull", "West Midlands", "Solihull=B90-94 B36-37"),
    ("335", "Walsall", "West Midlands", "Walsall=WS1-6 WS9"),
    ("336", "Wolverhampton", "West Midlands", "Wolverhampton=WV1-4 WV6 WV10-11"),
    ("340", "Knowsley", "Merseyside", "Liverpool=L14 L28 L32-36"),
    ("341", "Liverpool", "Merseyside", "Liverpool=L1-27"),
    ("342", "St Helens", "Merseyside", "St Helens=WA9-11"),
    ("343", "Sefton", "Merseyside", "Bootle=L20-23 L30;Southport=PR8-9"),
    ("344", "Wirral", "Merseyside", "Wirral=CH41-49 CH60-63"),
    ("350", "Bolton", "Greater Manchester", "Bolton=BL1-7"),
    ("351", "Bury", "Greater Manchester", "Bury=BL8-9;Manchester=M25-26 M45"),
    ("352", "Manchester", "Greater Manchester", "Manchester=M1-23 M40"),
    ("353", "Oldham", "Greater Manchester", "Oldham=OL1-4 OL8-9"),
    ("354", "Rochdale", "Greater Manchester", "Rochdale=OL11-12 OL16;Heywood=OL10"),
    ("355", "Salford", "Greater Manchester", "Salford=M3 M5-7 M27-28 M30 M38 M44"),
    ("356", "Stockport", "Greater Manchester", "Stockport=SK1-8"),
    ("357", "Tameside", "Greater Manchester", "Ashton-under-Lyne=OL5-7;Hyde=SK14-16"),
    ("358", "Trafford", "Greater Manchester", "Sale=M33;Altrincham=WA14-15;Stretford=M32 M41"),
    ("359", "Wigan", "Greater Manchester", "Wigan=WN1-6;Leigh=WN7"),
    ("370", "Barnsley", "South Yorkshire", "Barnsley=S70-75"),
    ("371", "Doncaster", "South Yorkshire", "Doncaster=DN1-12"),
    ("372", "Rotherham", "South Yorkshire", "Rotherham=S60-66"),
    ("373", "Sheffield", "South Yorkshire", "Sheffield=S1-14 S17 S20-21 S35-36"),
    ("380", "Bradford", "West Yorkshire", "Bradford=BD1-15;Keighley=BD20-22"),
    ("381", "Calderdale", "West Yorkshire", "Halifax=HX1-7"),
    ("382", "Kirklees", "West Yorkshire", "Huddersfield=HD1-9;Dewsbury=WF12-13"),
    ("383", "Leeds", "West Yorkshire", "Leeds=LS1-29"),
    ("384", "Wakefield", "West Yorkshire", "Wakefield=WF1-10"),
    ("390", "Gateshead", "Tyne and Wear", "Gateshead=NE8-11 NE16 NE21"),
    ("391", "Newcastle upon Tyne", "Tyne and Wear", "Newcastle upon Tyne=NE1-7 NE12-13 NE15"),
    ("392", "North Tyneside", "Tyne and Wear", "North Shields=NE28-30;Whitley Bay=NE25-26"),
    ("393", "South Tyneside", "Tyne and Wear", "South Shields=NE32-36"),
    ("394", "Sunderland", "Tyne and Wear", "Sunderland=SR1-6;Washington=NE37-38"),
    ("800", "Bath and North East Somerset", "Somerset", "Bath=BA1-2;Midsomer Norton=BA3"),
    ("801", "Bristol", "", "Bristol=BS1-16"),
    ("802", "North Somerset", "Somerset", "Weston-super-Mare=BS22-24;Clevedon=BS21"),
    ("803", "South Gloucestershire", "Gloucestershire", "Bristol=BS30-37"),
    ("805", "Hartlepool", "County Durham", "Hartlepool=TS24-27"),
    ("806", "Middlesbrough", "North Yorkshire", "Middlesbrough=TS1-8"),
    ("807", "Redcar and Cleveland", "North Yorkshire", "Redcar=TS10-14"),
    ("808", "Stockton-on-Tees", "County Durham", "Stockton-on-Tees=TS16-21"),
    ("810", "Kingston upon Hull", "East Riding of Yorkshire", "Hull=HU1-9"),
    ("811", "East Riding of Yorkshire", "East Riding of Yorkshire",
     "Beverley=HU17;Bridlington=YO15-16;Goole=DN14"),
    ("812", "North East Lincolnshire", "Lincolnshire", "Grimsby=DN31-37"),
    ("813", "North Lincolnshire", "Lincolnshire", "Scunthorpe=DN15-17"),
    ("815", "North Yorkshire", "North Yorkshire", "Harrogate=HG1-5;Scarborough=YO11-13;Northallerton=DL6-7"),
    ("816", "York", "North Yorkshire", "York=YO1 YO10 YO23-26 YO30-32"),
    ("821", "Luton", "Bedfordshire", "Luton=LU1-4"),
    ("822", "Bedford", "Bedfordshire", "Bedford=MK40-44"),
    ("823", "Central Bedfordshire", "Bedfordshire", "Dunstable=LU5-6;Leighton Buzzard=LU7;Biggleswade=SG18"),
    ("825", "Buckinghamshire", "Buckinghamshire", "High Wycombe=HP10-15;Aylesbury=HP17-22"),
    ("826", "Milton Keynes", "Buckinghamshire", "Milton Keynes=MK1-15"),
    ("830", "Derbyshire", "Derbyshire", "Chesterfield=S40-45;Matlock=DE4;Buxton=SK17"),
    ("831", "Derby", "Derbyshire", "Derby=DE1 DE3 DE21-24"),
    ("835", "Dorset", "Dorset", "Dorchester=DT1-2;Weymouth=DT3-4;Blandford Forum=DT11"),
    ("839", "Bournemouth, Christchurch and Poole", "Dorset", "Bournemouth=BH1-11;Poole=BH12-17"),
    ("840", "County Durham", "County Durham", "Durham=DH1-7;Bishop Auckland=DL13-14"),
    ("841", "Darlington", "County Durham", "Darlington=DL1-3"),
    ("845", "East Sussex", "East Sussex", "Eastbourne=BN20-23;Hastings=TN34-35;Lewes=BN7-8"),
    ("846", "Brighton and Hove", "East Sussex", "Brighton=BN1-2;Hove=BN3 BN41"),
    ("850", "Hampshire", "Hampshire",
     "Winchester=SO21-23;Basingstoke=RG21-24;Aldershot=GU11-12;Fareham=PO14-16"),
    ("851", "Portsmouth", "Hampshire", "Portsmouth=PO1-6"),
    ("852", "Southampton", "Hampshire", "Southampton=SO14-19"),
    ("855", "Leicestershire", "Leicestershire", "Loughborough=LE11-12;Hinckley=LE10;Melton Mowbray=LE13-14"),
    ("856", "Leicester", "Leicestershire", "Leicester=LE1-5"),
    ("857", "Rutland", "Rutland", "Oakham=LE15"),
    ("860", "Staffordshire", "Staffordshire", "Stafford=ST16-18;Tamworth=B77-79;Burton upon Trent=DE13-15"),
    ("861", "Stoke-on-Trent", "Staffordshire", "Stoke-on-Trent=ST1-4 ST6"),
    ("865", "Wiltshire", "Wiltshire", "Salisbury=SP1-2;Trowbridge=BA14;Chippenham=SN14-15"),
    ("866", "Swindon", "Wiltshire", "Swindon=SN1-5 SN25"),
    ("867", "Bracknell Forest", "Berkshire", "Bracknell=RG12 RG42"),
    ("868", "Windsor and Maidenhead", "Berkshire", "Maidenhead=SL6;Windsor=SL4"),
    ("869", "West Berkshire", "Berkshire", "Newbury=RG14 RG18-20"),
    ("870", "Reading", "Berkshire", "Reading=RG1-2 RG4 RG30-31"),
    ("871", "Slough", "Berkshire", "Slough=SL1-3"),
    ("872", "Wokingham", "Berkshire", "Wokingham=RG40-41;Woodley=RG5-6"),
    ("873", "Cambridgeshire", "Cambridgeshire", "Cambridge=CB1-5;Huntingdon=PE28-29;Ely=CB6-7"),
    ("874", "Peterborough", "Cambridgeshire", "Peterborough=PE1-4 PE7"),
    ("876", "Halton", "Cheshire", "Widnes=WA8;Runcorn=WA7"),
    ("877", "Warrington", "Cheshire", "Warrington=WA1-5"),
    ("878", "Devon", "Devon", "Exeter=EX1-6;Barnstaple=EX31-32;Newton Abbot=TQ12-13"),
    ("879", "Plymouth", "Devon", "Plymouth=PL1-9"),
    ("880", "Torbay", "Devon", "Torquay=TQ1-2;Paignton=TQ3-4"),
    ("881", "Essex", "Essex", "Chelmsford=CM1-3;Colchester=CO1-4;Basildon=SS13-16;Harlow=CM17-20"),
    ("882", "Southend-on-Sea", "Essex", "Southend-on-Sea=SS0-3"),
    ("883", "Thurrock", "Essex", "Grays=RM16-20"),
    ("884", "Herefordshire", "Herefordshire", "Hereford=HR1-4"),
    ("885", "Worcestershire", "Worcestershire", "Worcester=WR1-5;Redditch=B97-98;Kidderminster=DY10-11"),
    ("886", "Kent", "Kent", "Maidstone=ME14-17;Canterbury=CT1-4;Ashford=TN23-27;Dartford=DA1-2"),
    ("887", "Medway", "Kent", "Chatham=ME4-5;Gillingham=ME7-8;Rochester=ME1-3"),
    ("888", "Lancashire", "Lancashire", "Preston=PR1-2;Lancaster=LA1;Burnley=BB10-12;Chorley=PR6-7"),
    ("889", "Blackburn with Darwen", "Lancashire", "Blackburn=BB1-2;Darwen=BB3"),
    ("890", "Blackpool", "Lancashire", "Blackpool=FY1-4"),
    ("891", "Nottinghamshire", "Nottinghamshire", "Mansfield=NG18-21;Newark=NG22-24;Worksop=S80-81"),
    ("892", "Nottingham", "Nottinghamshire", "Nottingham=NG1-11"),
    ("893", "Shropshire", "Shropshire", "Shrewsbury=SY1-5;Oswestry=SY10-11"),
    ("894", "Telford and Wrekin", "Shropshire", "Telford=TF1-7"),
    ("895", "Cheshire East", "Cheshire", "Crewe=CW1-2;Macclesfield=SK10-11"),
    ("896", "Cheshire West and Chester", "Cheshire", "Chester=CH1-4;Ellesmere Port=CH65-66"),
    ("908", "Cornwall", "Cornwall", "Truro=TR1-4;Penzance=TR18-20;Bodmin=PL30-31"),
    ("909", "Cumbria", "Cumbria", "Carlisle=CA1-3;Kendal=LA8-9;Barrow-in-Furness=LA13-14"),
    ("916", "Gloucestershire", "Gloucestershire", "Gloucester=GL1-4;Cheltenham=GL50-53"),
    ("919", "Hertfordshire", "Hertfordshire", "St Albans=AL1-4;Stevenage=SG1-2;Watford=WD17-19"),
    ("921", "Isle of Wight", "Isle of Wight", "Newport=PO30;Ryde=PO33"),
    ("925", "Lincolnshire", "Lincolnshire", "Lincoln=LN1-6;Boston=PE21;Grantham=NG31-32"),
    ("926", "Norfolk", "Norfolk", "Norwich=NR1-7;King's Lynn=PE30-31;Great Yarmouth=NR30-31"),
    ("928", "Northamptonshire", "Northamptonshire", "Northampton=NN1-5;Kettering=NN14-16;Corby=NN17-18"),
    ("929", "Northumberland", "Northumberland", "Morpeth=NE61;Cramlington=NE23;Hexham=NE46"),
    ("931", "Oxfordshire", "Oxfordshire", "Oxford=OX1-4;Banbury=OX15-17;Didcot=OX11"),
    ("933", "Somerset", "Somerset", "Taunton=TA1-3;Yeovil=BA20-22;Bridgwater=TA5-7"),
    ("935", "Suffolk", "Suffolk", "Ipswich=IP1-5;Bury St Edmunds=IP28 IP30-33;Lowestoft=NR32-33"),
    ("936", "Surrey", "Surrey", "Guildford=GU1-5;Woking=GU21-24;Epsom=KT17-19;Redhill=RH1"),
    ("937", "Warwickshire", "Warwickshire", "Warwick=CV34-35;Nuneaton=CV10-11;Rugby=CV21-23"),
    ("938", "West Sussex", "West Sussex",
     "Chichester=PO18-20;Crawley=RH10-11;Worthing=BN11-14;Horsham=RH12-13"),
)
