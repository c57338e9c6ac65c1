"""The demo data set of ``manage.py seed_demo``: the Nador 2025 program, one login per
role, and a deterministic plan of beneficiaries and their projects.

Everything here is plain data and pure functions (no database access), so the plan
for project number ``i`` is the same on every run and whatever ``--projects`` is:
the command keys each project by its beneficiary's CIN and skips what exists.
"""

import functools
import itertools
import random
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_UP, Decimal

from core.roles import Role
from workflow.models.project import COMMITTED_STATES, ProjectState

S = ProjectState

SEED = "tamkeen-nador-2025"
DEMO_PASSWORD = "tamkeen-demo"

PROGRAM = {
    "code": "agr-nador-2025",
    "name": "Programme AGR Nador 2025",
    "year": 2025,
    "province": "Nador",
    "envelope": Decimal("6000000.00"),
    "project_ceiling": Decimal("150000.00"),
    "contribution_share": Decimal("0.300"),
    "min_age": 18,
    "max_age": 60,
    "support_cooldown_years": 2,
    "required_documents": ["cin_copy", "residence_certificate", "business_plan"],
    "training_threshold": 80,
    "followup_offsets": [3, 6, 12, 24],
    "quorum_percent": 50,
    "majority_rule": "votes_cast",
    "is_active": True,
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    roles: tuple
    first_name: str
    last_name: str
    is_staff: bool = False


# One login per role (username = role name). A second program officer lets the demo
# respect separation of duties; the chair also sits as a committee member.
DEMO_USERS = (
    DemoUser("association_agent", (Role.ASSOCIATION_AGENT,), "Salma", "Bouhaddou"),
    DemoUser("program_officer", (Role.PROGRAM_OFFICER,), "Youssef", "El Bakkali"),
    DemoUser("program_officer2", (Role.PROGRAM_OFFICER,), "Nawal", "Ziani"),
    DemoUser("committee_member", (Role.COMMITTEE_MEMBER,), "Abdelkrim", "Tahiri"),
    DemoUser("committee_chair", (Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER), "Leila", "Aarab"),
    DemoUser("trainer", (Role.TRAINER,), "Hicham", "Benaissa"),
    DemoUser("mentor", (Role.MENTOR,), "Siham", "El Idrissi"),
    DemoUser("finance_officer", (Role.FINANCE_OFFICER,), "Mourad", "Chaoui"),
    DemoUser("authorizing_officer", (Role.AUTHORIZING_OFFICER,), "Driss", "Hammouchi"),
    DemoUser("treasurer", (Role.TREASURER,), "Amina", "Belhaj"),
    DemoUser("auditor", (Role.AUDITOR,), "Karima", "Moussaoui"),
    DemoUser("admin", (Role.ADMIN,), "Rachid", "El Ammari", is_staff=True),
    # A second administrator: the committee's, money and auditor roles are granted when
    # a second one approves (People and roles).
    DemoUser("admin2", (Role.ADMIN,), "Samira", "Ouazzani", is_staff=True),
)

# (Latin, Arabic) pairs, common in the Rif and the Oriental.
WOMEN_FIRST_NAMES = (
    ("Fatima", "فاطمة"), ("Khadija", "خديجة"), ("Naima", "نعيمة"), ("Rachida", "رشيدة"),
    ("Samira", "سميرة"), ("Hanane", "حنان"), ("Malika", "مليكة"), ("Zohra", "زهرة"),
    ("Houria", "حورية"), ("Souad", "سعاد"), ("Karima", "كريمة"), ("Najat", "نجاة"),
    ("Latifa", "لطيفة"), ("Hafida", "حفيظة"), ("Saida", "سعيدة"), ("Mimouna", "ميمونة"),
    ("Yamina", "يمينة"), ("Siham", "سهام"), ("Nadia", "نادية"), ("Loubna", "لبنى"),
    ("Imane", "إيمان"), ("Asmae", "أسماء"), ("Hayat", "حياة"), ("Fadma", "فاضمة"),
)
MEN_FIRST_NAMES = (
    ("Mohamed", "محمد"), ("Mimoun", "ميمون"), ("Ahmed", "أحمد"), ("Said", "سعيد"),
    ("Abdelkader", "عبد القادر"), ("Karim", "كريم"), ("Youssef", "يوسف"), ("Hassan", "حسن"),
    ("Rachid", "رشيد"), ("Mustapha", "مصطفى"), ("Abdellah", "عبد الله"), ("Omar", "عمر"),
)
LAST_NAMES = (
    ("El Ouariachi", "الورياشي"), ("Azzouzi", "العزوزي"), ("Boutaleb", "بوطالب"),
    ("El Hamdaoui", "الحمداوي"), ("Amezian", "أمزيان"), ("Bouziane", "بوزيان"),
    ("El Khattabi", "الخطابي"), ("Benaissa", "بنعيسى"), ("El Idrissi", "الإدريسي"),
    ("Moussaoui", "الموساوي"), ("El Ammari", "العماري"), ("El Yaakoubi", "اليعقوبي"),
    ("Chaoui", "الشاوي"), ("Tahiri", "الطاهري"), ("Belhaj", "بلحاج"), ("Ziani", "الزياني"),
    ("Hammouchi", "الحموشي"), ("Aarab", "أعراب"), ("Bouhaddou", "بوحدو"), ("Boukhari", "البخاري"),
)
STREETS = (
    "Hay Al Matar", "Hay Laari Cheikh", "Hay Ouled Mimoun", "Douar Ouled Boutaieb",
    "Hay Al Kindi", "Douar Tazaghine", "Hay Al Massira", "Douar Ihrouchen", "Hay Essalam",
)


@dataclass(frozen=True)
class ProjectIdea:
    sector: str  # ActivitySector.code (migration 0002)
    title: str
    description: str
    low: int  # requested amount range, MAD
    high: int


PROJECT_IDEAS = (
    ProjectIdea("sewing", "Atelier de couture et de broderie",
                "Deux machines à coudre industrielles, une surjeteuse et une table de coupe.", 30000, 70000),
    ProjectIdea("pastry", "Pâtisserie marocaine traditionnelle",
                "Four professionnel, pétrin et vitrine réfrigérée pour gâteaux secs et msemen.", 40000, 90000),
    ProjectIdea("beekeeping", "Rucher de miel de thym et d'euphorbe",
                "Trente ruches peuplées, un extracteur et le matériel de mise en pots.", 35000, 80000),
    ProjectIdea("livestock", "Élevage caprin et vente de lait",
                "Achat de douze chèvres laitières, aménagement de la bergerie et d'un abreuvoir.", 50000, 120000),
    ProjectIdea("agriculture", "Serre de légumes primeurs",
                "Serre canarienne de 500 m², goutte-à-goutte et semences maraîchères.", 60000, 140000),
    ProjectIdea("handicrafts", "Tissage de tapis et de couvertures rifaines",
                "Deux métiers à tisser, laine cardée et teintures naturelles.", 25000, 60000),
    ProjectIdea("food-processing", "Couscous et pâtes artisanales roulées à la main",
                "Séchoir, rouleuse électrique et ensacheuse pour la vente en épicerie.", 45000, 100000),
    ProjectIdea("retail", "Épicerie de proximité",
                "Rayonnages, réfrigérateur vitré, balance et premier stock de marchandises.", 40000, 110000),
    ProjectIdea("hairdressing", "Salon de coiffure et d'esthétique pour femmes",
                "Deux fauteuils, bacs à shampoing, séchoirs et petit matériel d'esthétique.", 35000, 85000),
    ProjectIdea("services", "Pressing et blanchisserie de quartier",
                "Lave-linge et sèche-linge professionnels, table à repasser vapeur.", 50000, 130000),
    ProjectIdea("fishing", "Transformation et salaison d'anchois",
                "Bacs de salaison, chambre froide compacte et matériel d'emballage.", 60000, 145000),
    ProjectIdea("digital", "Réparation de téléphones et services numériques",
                "Poste de soudure, outillage, ordinateur, imprimante et photocopieuse.", 30000, 75000),
)

# Lifecycle order, used for the allocation and for the summary.
STATE_ORDER = (
    S.DRAFT, S.SUBMITTED, S.ELIGIBLE, S.INELIGIBLE, S.IN_COMMITTEE, S.APPROVED,
    S.REVISION_REQUESTED, S.REJECTED, S.IN_TRAINING, S.TRAINED, S.FUNDING, S.EQUIPPED,
    S.LAUNCHED, S.CLOSED, S.WITHDRAWN, S.SUSPENDED,
)
# Beyond two projects per state, extra projects go where a real program has most files.
EXTRA_STATE_ORDER = (
    S.SUBMITTED, S.IN_TRAINING, S.ELIGIBLE, S.LAUNCHED, S.DRAFT, S.IN_COMMITTEE,
    S.APPROVED, S.FUNDING, S.CLOSED, S.TRAINED, S.EQUIPPED, S.REVISION_REQUESTED,
)


def target_state(index: int) -> ProjectState:
    """The state planned for project number ``index`` (0-based), whatever the total:
    two rounds over every state, then the busier states in turn."""
    rounds = 2 * len(STATE_ORDER)
    if index < rounds:
        return STATE_ORDER[index % len(STATE_ORDER)]
    return EXTRA_STATE_ORDER[(index - rounds) % len(EXTRA_STATE_ORDER)]


@dataclass(frozen=True)
class ProjectPlan:
    index: int
    state: ProjectState
    beneficiary: dict  # fields for services.beneficiary_create, commune as a code
    sector: str
    title: str
    description: str
    requested_amount: Decimal
    own_contribution: Decimal
    approved_amount: Decimal

    @property
    def is_committed(self) -> bool:
        return self.state in COMMITTED_STATES


def _round_up(amount: Decimal, step: int) -> Decimal:
    return ((amount / step).quantize(Decimal("1"), rounding=ROUND_UP) * step).quantize(Decimal("0.01"))


@functools.cache
def _name_pairs(gender: str) -> list:
    firsts = MEN_FIRST_NAMES if gender == "M" else WOMEN_FIRST_NAMES
    pairs = list(itertools.product(firsts, LAST_NAMES))
    random.Random(f"{SEED}:names:{gender}").shuffle(pairs)
    return pairs


def _full_name(gender: str, index: int):
    """A (first, last) name pair, different for every index below the number of pairs."""
    pairs = _name_pairs(gender)
    return pairs[index % len(pairs)]


def demo_cin(index: int, rng: random.Random) -> str:
    # Nador-issued CINs start with S; 7919 is prime and coprime with 900000, so the
    # six digits differ for every index below 900000.
    prefix = rng.choice(("S", "S", "SA", "SH"))
    digits = (index * 7919 + 104729) % 900000 + 100000
    return f"{prefix}{digits:06d}"


def plan_project(index: int, communes: list[str], today: date) -> ProjectPlan:
    """The deterministic plan of project ``index``. ``communes`` is the sorted list of
    active commune codes; ``today`` bounds the birth dates to the program's age range."""
    rng = random.Random(f"{SEED}:{index}")
    kind = rng.choices(("woman", "woman_disabled", "man_disabled"), weights=(65, 15, 20))[0]
    gender = "M" if kind == "man_disabled" else "F"
    (first, first_ar), (last, last_ar) = _full_name(gender, index)
    has_disability = kind != "woman"
    mobile = rng.choice("67")
    beneficiary = {
        "first_name": first,
        "last_name": last,
        "first_name_ar": first_ar,
        "last_name_ar": last_ar,
        "cin": demo_cin(index, rng),
        "phone": f"+212{mobile}{rng.randrange(10**8):08d}",
        "gender": gender,
        "birth_date": date(today.year - rng.randint(22, 55), rng.randint(1, 12), rng.randint(1, 28)),
        "commune": rng.choice(communes),
        "address": f"{rng.choice(STREETS)}, n° {rng.randint(1, 180)}",
        "is_woman_in_difficulty": gender == "F" and (kind == "woman" or rng.random() < 0.5),
        "has_disability": has_disability,
        "disability_proof": rng.choice(("card", "medical_certificate")) if has_disability else "",
        "last_support_date": date(rng.randint(2015, 2020), rng.randint(1, 12), 15) if rng.random() < 0.15 else None,
        "consent_given": True,
        "consent_date": date(2025, rng.randint(1, 6), rng.randint(1, 28)),
    }
    idea = rng.choice(PROJECT_IDEAS)
    requested = Decimal(rng.randrange(idea.low, idea.high + 1, 500)).quantize(Decimal("0.01"))
    # The beneficiary brings at least 30 % of the total cost: own ≥ 0.3/0.7 × requested.
    own = _round_up(requested * Decimal(rng.choice(("0.45", "0.5", "0.6"))), 100)
    # The committee sometimes funds a little less than asked.
    approved = requested if rng.random() < 0.7 else _round_up(requested * Decimal("0.9"), 500).min(requested)
    return ProjectPlan(
        index=index, state=target_state(index), beneficiary=beneficiary, sector=idea.sector,
        title=idea.title, description=idea.description, requested_amount=requested,
        own_contribution=own, approved_amount=approved,
    )


COMMITTEE_NAME = "Comité provincial de sélection AGR — Nador 2025"
SESSION_TITLE = "Session de sélection — premier appel à projets"
SESSION_PLACE = "Siège du Conseil provincial, Nador"
TRAINING_MODULE = "marketing"  # an optional module of the plan, one session held yesterday
TRAINING_PLACE = "Maison des associations, Nador"
