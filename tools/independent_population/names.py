"""Name traditions of children in England, written for this generator alone (not the hub's lists).

Each tradition gives forenames by sex, family names, how a family name passes to a child, and spelling
variants and short forms that real feeds carry for the same child.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tradition:
    """How one naming tradition names a child."""

    name: str
    weight: float  # share of households
    boys: tuple[str, ...]
    girls: tuple[str, ...]
    surnames: tuple[str, ...]
    # "father": the family's surname; "patronymic": the father's forename (Somali); "gendered": -ski/-ska
    surname_rule: str = "father"
    middle_share: float = 0.3


TRADITIONS: tuple[Tradition, ...] = (
    Tradition("english", 0.55,
              ("Oliver", "George", "Noah", "Arthur", "Leo", "Oscar", "Harry", "Archie", "Jack", "Henry", "Charlie",
               "Freddie", "Theodore", "Thomas", "Alfie", "Jacob", "Finley", "Joshua", "William", "Reuben", "Tommy",
               "Edward", "Samuel", "Joseph", "Louie", "Daniel", "Albie", "Riley", "Max", "Ethan", "Isaac", "Lucas",
               "Mason", "Dylan", "Toby", "Benjamin", "Callum", "Connor", "Kyle", "Jamie", "Ryan", "Lewis", "Owen"),
              ("Olivia", "Amelia", "Isla", "Ava", "Ivy", "Freya", "Lily", "Florence", "Mia", "Willow", "Rosie",
               "Sophia", "Isabella", "Grace", "Daisy", "Sienna", "Poppy", "Elsie", "Emily", "Ella", "Evelyn",
               "Phoebe", "Sofia", "Evie", "Charlotte", "Harper", "Millie", "Matilda", "Ruby", "Alice", "Jessica",
               "Chloe", "Megan", "Holly", "Lauren", "Bethany", "Katie", "Abigail", "Eleanor", "Hannah", "Maisie"),
              ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
               "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
               "Patel", "Hughes", "Edwards", "Turner", "Hill", "Moore", "Cooper", "Ward", "Morris", "King",
               "Harris", "Lewis", "Baker", "Lee", "Allen", "Martin", "Clark", "Young", "Watson", "Phillips",
               "Scott", "Mitchell", "Carter", "Bennett", "Shaw", "Holmes", "Price", "Lloyd", "Pearson", "Fletcher",
               "O'Neill", "O'Connor", "McDonald", "Murphy", "Kelly", "Doherty", "Fitzgerald", "Ashworth", "Butterworth",
               "Greenwood", "Sutcliffe", "Ramsbottom", "Heywood", "Whittaker", "Barraclough", "Hargreaves"),
              middle_share=0.6),
    Tradition("pakistani", 0.09,
              ("Muhammad", "Mohammed", "Ali", "Hamza", "Ibrahim", "Yusuf", "Zain", "Ayaan", "Rayyan", "Haris",
               "Bilal", "Usman", "Imran", "Adnan", "Arham", "Hassan", "Hussain", "Zakariya", "Musa", "Abdullah",
               "Faizan", "Shayan", "Saad", "Talha"),
              ("Maryam", "Aisha", "Fatima", "Zara", "Hafsa", "Khadija", "Amna", "Inaya", "Zainab", "Eman", "Safa",
               "Hania", "Alishba", "Mahnoor", "Iqra", "Sana", "Noor", "Areeba", "Laiba", "Anaya", "Hoorain"),
              ("Khan", "Hussain", "Ahmed", "Akhtar", "Iqbal", "Mahmood", "Butt", "Raja", "Malik", "Shah", "Bibi",
               "Chaudhry", "Qureshi", "Rashid", "Javed", "Aslam", "Mirza", "Sheikh", "Bashir", "Yousaf", "Riaz",
               "Anwar", "Nawaz", "Sadiq"),
              middle_share=0.5),
    Tradition("bangladeshi", 0.04,
              ("Mohammed", "Abdul", "Rahim", "Sayeed", "Tanvir", "Rafiq", "Shahid", "Jamal", "Arif", "Ishaq",
               "Nabil", "Rayhan", "Fahim", "Sohel", "Mahir", "Ashik", "Ehsan"),
              ("Fatema", "Ayesha", "Nusrat", "Tahmina", "Sumaiya", "Jannat", "Ruksana", "Shirin", "Farzana",
               "Anisa", "Habiba", "Mariam", "Rahima", "Tasnim", "Sadia", "Samira"),
              ("Begum", "Miah", "Uddin", "Rahman", "Islam", "Ali", "Hoque", "Chowdhury", "Ahmed", "Hussain",
               "Khatun", "Alam", "Sarkar", "Talukdar", "Haque", "Karim", "Mia", "Bari")),
    Tradition("indian", 0.06,
              ("Arjun", "Aarav", "Vihaan", "Rohan", "Krish", "Dev", "Ishaan", "Aditya", "Harjeet", "Gurpreet",
               "Manveer", "Jaskaran", "Sai", "Rahul", "Nikhil", "Kabir", "Vivaan", "Ravi", "Sanjay", "Siddharth"),
              ("Priya", "Anaya", "Diya", "Saanvi", "Aanya", "Kiran", "Simran", "Harleen", "Navneet", "Jasleen",
               "Meera", "Riya", "Ishani", "Pooja", "Anika", "Tara", "Divya", "Kavya", "Priyanka", "Shreya"),
              ("Patel", "Singh", "Kaur", "Sharma", "Shah", "Gill", "Sandhu", "Mistry", "Parmar", "Joshi", "Gupta",
               "Kumar", "Dhillon", "Bains", "Sidhu", "Chauhan", "Desai", "Mehta", "Nair", "Pillai", "Reddy",
               "Verma", "Rao", "Lal")),
    Tradition("arab", 0.03,
              ("Omar", "Ahmad", "Youssef", "Khalid", "Karim", "Tariq", "Sami", "Nasser", "Faisal", "Hamid",
               "Ziad", "Mahmoud", "Walid", "Adam", "Rami", "Majid", "Kareem"),
              ("Layla", "Yasmin", "Nour", "Rania", "Salma", "Hana", "Lina", "Dana", "Huda", "Reem", "Amira",
               "Jana", "Malak", "Sara", "Leen", "Farah"),
              ("Al-Sayed", "Haddad", "Mansour", "Khalil", "Nasser", "Abdallah", "Al-Rashid", "Saleh", "Hamdan",
               "El-Masri", "Al-Hashimi", "Darwish", "Aziz", "Farouk", "Qasim", "Said", "Abu-Bakr", "Ibrahim")),
    Tradition("polish", 0.05,
              ("Jakub", "Antoni", "Jan", "Szymon", "Franciszek", "Filip", "Aleksander", "Mikołaj", "Wojciech",
               "Kacper", "Łukasz", "Michał", "Mateusz", "Bartosz", "Piotr", "Paweł", "Tomasz", "Krzysztof"),
              ("Zuzanna", "Julia", "Zofia", "Hanna", "Maja", "Lena", "Alicja", "Maria", "Oliwia", "Amelia",
               "Wiktoria", "Natalia", "Katarzyna", "Małgorzata", "Agnieszka", "Aleksandra", "Magdalena"),
              ("Nowak", "Kowalsk", "Wiśniewsk", "Wójcik", "Kowalczyk", "Kamińsk", "Lewandowsk", "Zielińsk",
               "Szymańsk", "Woźniak", "Dąbrowsk", "Kozłowsk", "Jankowsk", "Mazur", "Kwiatkowsk", "Krawczyk",
               "Piotrowsk", "Grabowsk", "Nowakowsk", "Pawłowsk", "Michalsk", "Adamczyk", "Dudek", "Zając"),
              surname_rule="gendered"),
    Tradition("nigerian", 0.05,
              ("Oluwaseun", "Chukwuemeka", "Adebayo", "Tobiloba", "Oluwatobi", "Emeka", "Chidi", "Ifeanyi",
               "Obinna", "Babatunde", "Olumide", "Ayomide", "Damilola", "Tunde", "Kelechi", "Uchenna", "David",
               "Daniel", "Samuel"),
              ("Chiamaka", "Adaeze", "Folake", "Oluwadamilare", "Temitope", "Ngozi", "Chinonso", "Funmilayo",
               "Ifeoma", "Oluwatosin", "Adunni", "Yetunde", "Blessing", "Precious", "Favour", "Esther", "Deborah"),
              ("Okafor", "Adeyemi", "Okonkwo", "Oladipo", "Eze", "Nwosu", "Adebayo", "Ogunleye", "Balogun",
               "Chukwu", "Obi", "Afolabi", "Olawale", "Onyekachi", "Ibekwe", "Ojo", "Akinola", "Nwachukwu"),
              middle_share=0.7),
    Tradition("ghanaian", 0.03,
              ("Kwame", "Kofi", "Kwabena", "Kwaku", "Yaw", "Kwasi", "Kojo", "Nana", "Kwadwo", "Ebo", "Fiifi",
               "Nii", "Kobby"),
              ("Ama", "Akosua", "Abena", "Akua", "Yaa", "Afua", "Adwoa", "Efua", "Esi", "Araba", "Naa", "Aba"),
              ("Mensah", "Asante", "Owusu", "Boateng", "Osei", "Agyeman", "Appiah", "Darko", "Amoah", "Addo",
               "Antwi", "Ofori", "Quaye", "Tetteh", "Annan", "Acheampong", "Kuffour", "Ansah"),
              middle_share=0.6),
    Tradition("somali", 0.03,
              ("Abdirahman", "Abdullahi", "Mohamed", "Ahmed", "Hassan", "Abdikarim", "Mustafe", "Yusuf",
               "Ismail", "Abdiaziz", "Liban", "Guled", "Hamse", "Khalid", "Bashir", "Mahad", "Omar", "Ali"),
              ("Hodan", "Fadumo", "Hibo", "Sagal", "Ayan", "Nimco", "Ifrah", "Muna", "Asha", "Deqa", "Sahra",
               "Ubah", "Hamdi", "Idil", "Ikran", "Ladan", "Najma", "Ruqiya"),
              (), surname_rule="patronymic", middle_share=0.0),
)

# Short forms a feed may carry instead of the registered forename (both directions occur).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Oliver": ("Olly", "Ollie"), "Theodore": ("Theo", "Teddy"), "Thomas": ("Tom", "Tommy"),
    "William": ("Will", "Billy"), "Samuel": ("Sam", "Sammy"), "Joseph": ("Joe",), "Benjamin": ("Ben",),
    "Daniel": ("Dan", "Danny"), "Edward": ("Ed", "Eddie"), "Joshua": ("Josh",), "Jacob": ("Jake",),
    "Isabella": ("Bella", "Izzy"), "Charlotte": ("Lottie",), "Eleanor": ("Ellie",), "Abigail": ("Abbie",),
    "Jessica": ("Jess",), "Matilda": ("Tilly",), "Florence": ("Flo",), "Evelyn": ("Evie",),
    "Katie": ("Kate",), "Sophia": ("Sophie",), "Callum": ("Cal",), "Alexander": ("Alex",),
    "Muhammad": ("Mo",), "Mohammed": ("Mo",), "Mohamed": ("Mo",), "Abdullah": ("Abdul",),
    "Ibrahim": ("Ibby",), "Zakariya": ("Zak",), "Abdirahman": ("Abdi",), "Abdullahi": ("Abdi",),
    "Abdikarim": ("Abdi",), "Aleksander": ("Olek", "Alek"), "Katarzyna": ("Kasia",), "Małgorzata": ("Gosia",),
    "Aleksandra": ("Ola",), "Magdalena": ("Magda",), "Agnieszka": ("Aga",), "Krzysztof": ("Krzys",),
    "Oluwaseun": ("Seun",), "Oluwatobi": ("Tobi",), "Tobiloba": ("Tobi",), "Chukwuemeka": ("Emeka",),
    "Oluwatosin": ("Tosin",), "Oluwadamilare": ("Dami",), "Damilola": ("Dami",), "Babatunde": ("Tunde",),
    "Funmilayo": ("Funmi",), "Temitope": ("Tope",), "Siddharth": ("Sid",), "Priyanka": ("Priya",),
    "Jaskaran": ("Jas",), "Gurpreet": ("Preet",), "Kwabena": ("Kobby",), "Youssef": ("Joe",),
}
# Spellings of one name that different services write for the same child.
VARIANTS: tuple[tuple[str, ...], ...] = (
    ("Muhammad", "Mohammed", "Mohammad", "Mohamed", "Muhammed"), ("Hussain", "Hussein", "Husain"),
    ("Aisha", "Ayesha", "Aysha"), ("Fatima", "Fatimah", "Fatema"), ("Chowdhury", "Choudhury", "Chaudhry"),
    ("Yusuf", "Yousaf", "Yousef"), ("Maryam", "Mariam", "Maryum"), ("Zainab", "Zaynab"),
    ("Abdirahman", "Abdurahman"), ("Fadumo", "Faduma"), ("Khadija", "Khadijah"), ("Ahmed", "Ahmad"),
    ("Sofia", "Sophia"), ("Isla", "Islay"), ("Freya", "Freyja"), ("Mia", "Miya"), ("Nour", "Noor"),
    ("Layla", "Leila", "Laila"), ("Jakub", "Jacob"), ("Mikołaj", "Mikolaj", "Nicholas"), ("Łukasz", "Lukasz"),
    ("Michał", "Michal"), ("Paweł", "Pawel"), ("Wójcik", "Wojcik"), ("Zając", "Zajac"), ("Woźniak", "Wozniak"),
    ("Kwame", "Kwamé"), ("Adwoa", "Adjoa"), ("Kwasi", "Kwesi"), ("Begum", "Begom"), ("Miah", "Mia"),
    ("Hoque", "Haque", "Huq"), ("Uddin", "Udin"),
)
# Mixed-tradition and hyphenated family names are common; step-families keep separate surnames.
STREETS = ("High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue", "Mill Lane",
           "Green Lane", "Queens Road", "Manor Road", "Grange Road", "Kingsway", "Albert Street",
           "Stratford Road", "Whitechapel Road", "Cheetham Hill Road", "Lumb Lane", "Soho Road",
           "Belgrave Road", "Moseley Road", "Ladypool Road", "Oldham Road", "Harehills Lane", "Green Street",
           "Coldharbour Lane", "Tottenham High Road", "Ilford Lane", "Alum Rock Road", "Wilmslow Road")
STREET_FORMS = {"Road": ("Rd", "Rd."), "Street": ("St", "St."), "Lane": ("Ln",), "Avenue": ("Ave",)}
# Outward codes of districts with many children from the traditions above (real districts, made-up units).
DISTRICTS = ("B8", "B9", "B10", "B11", "B12", "B21", "BD3", "BD5", "BD7", "BD8", "M8", "M13", "M14", "M16",
             "LS7", "LS8", "LS9", "E1", "E6", "E7", "E12", "E13", "N15", "N17", "SE5", "SE15", "SE28",
             "IG1", "LE4", "LE5", "L8", "BS5", "NE4", "OL8", "BB1", "LU1", "SL1", "CV6", "PE1", "NG7", "S3",
             "HD1", "WF13", "DE23", "WV1", "ST4", "UB1", "HA0", "W12", "CR0")
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
LA_CODES = ("330", "380", "352", "383", "316", "318", "803", "856", "341", "932", "357", "823", "205", "208")


def gendered(stem: str, sex: str) -> str:
    """Polish adjectival surnames: -ski for him, -ska for her; other surnames as they are."""
    if stem.endswith("sk") or stem.endswith("ck"):
        return stem + ("i" if sex == "M" else "a")
    return stem


VARIANT_OF: dict[str, tuple[str, ...]] = {name: group for group in VARIANTS for name in group}
