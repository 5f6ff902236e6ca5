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
# The local authorities (code, name, county, towns) are schemas/local_authorities.py: the store's reports
# name LAs from the same table.
