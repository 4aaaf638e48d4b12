"""Original stories for the wire-copy corpus that are unrelated to the seeds.

Five hand-written agency-style stories on other subjects, and two template families (market
briefs and match reports) whose members share phrasing but report different facts: the kind of
robot-written briefs that look alike to shingles without being copies of each other.
All invented; any resemblance to real companies, clubs or people is accidental.
"""

from __future__ import annotations

import random

HANDWRITTEN: dict[str, tuple[str, str]] = {
    "storm": (
        "Storm Ciaran batters Atlantic coast, thousands without power",
        """Storm Ciaran swept across the Atlantic coast overnight, uprooting trees, flooding low-lying streets and leaving more than 80,000 homes without electricity, regional officials said on Thursday.
Wind gusts of up to 160 kilometres per hour were recorded on exposed headlands, and the national weather service kept its highest red alert in place for three coastal departments until midday.
Rail operators suspended services on several regional lines after debris was found on the tracks, while ferry crossings to the islands were cancelled for a second day.
"We are asking people to stay at home and to stay away from the sea front," the prefect of the region told a news conference, adding that emergency crews had carried out more than 400 interventions during the night.
A lorry driver was seriously injured when a tree fell on his cab near the port, the fire service said. No deaths had been reported by Thursday morning.
Power company engineers expect to restore most connections within 48 hours, but some isolated villages could remain cut off until the weekend, a spokeswoman said.
Forecasters said the storm would move north-east across the Channel during the afternoon, bringing heavy rain to areas already saturated after the wettest October in two decades.""",
    ),
    "rates": (
        "Central bank holds rates steady, signals cuts are not yet on the table",
        """The central bank left its benchmark interest rate unchanged at 4.5% on Wednesday for a third consecutive meeting, saying inflation was easing but remained too high to consider lowering borrowing costs.
Governor Elena Marsh told reporters the board had voted seven to two to hold, with two members preferring a further quarter-point increase to guard against a renewed rise in services prices.
"It is far too early to talk about cuts," Marsh said. "We need to see more evidence that price pressures are fading in the parts of the economy that respond to domestic demand."
Annual consumer price inflation slowed to 4.1% in September from 4.6% in August, official figures showed last week, helped by lower fuel costs and a slowdown in food prices.
Financial markets had fully priced in a hold. The currency edged higher after the announcement as investors pared bets on a cut early next year, while two-year government bond yields rose four basis points.
The bank also published new forecasts showing growth of just 0.4% this year and 0.7% in 2024, with unemployment expected to climb gradually to 4.8%.
Business groups urged policymakers to act sooner, warning that high borrowing costs were weighing on investment and construction.""",
    ),
    "final": (
        "Late header hands Riverside first cup title in 40 years",
        """Riverside won their first national cup in four decades on Saturday, beating holders Northgate 2-1 in a tense final decided by a stoppage-time header from substitute defender Tomas Lind.
Northgate had taken the lead just before half-time when captain Owen Pryce curled a free kick into the top corner, silencing the Riverside end of the sold-out stadium.
Riverside pushed forward after the break and equalised in the 67th minute through striker Malik Adeyemi, who turned sharply in the area and fired low past the goalkeeper after a long throw was flicked on.
With extra time looming, Lind rose highest to meet a corner from the right and power the ball in off the crossbar, sparking wild celebrations among the travelling supporters.
"I only came on to defend the set pieces," Lind said. "I never thought I would score the goal that wins the cup. This is for everyone who has waited so long."
Northgate manager Sergio Valle praised his players but said the defeat would hurt for a long time. "We gave everything, but in a final one moment decides it," he said.
The victory earns Riverside a place in next season's European competition.""",
    ),
    "recall": (
        "Carmaker recalls 120,000 electric SUVs over battery fire risk",
        """Electric vehicle maker Voltaro is recalling about 120,000 sport utility vehicles worldwide because a manufacturing defect in some battery modules could cause them to overheat and catch fire, the company said on Tuesday.
The recall covers models built between March 2021 and June 2022 at the company's two assembly plants. Voltaro said it was aware of 11 fires linked to the problem, none of which caused serious injuries.
Owners will be asked to bring their vehicles to dealers, where technicians will inspect the battery pack and replace affected modules free of charge. Until then, the company advised owners to limit charging to 80% of capacity and to park outdoors.
Safety regulators said they had opened a review to determine whether the recall was broad enough, after receiving complaints from owners of vehicles built outside the stated production window.
Voltaro shares fell 6% in early trading. Analysts estimated the cost of the recall at up to 900 million dollars, depending on how many modules need to be replaced.
The company said a supplier had changed a welding process without informing it, and that it had since introduced additional checks at the end of the production line.""",
    ),
    "budget": (
        "City council approves budget with transit boost and property tax rise",
        """The city council approved a 4.2 billion dollar budget late on Monday after a nine-hour debate, raising property taxes by 3.5% to fund more frequent bus services and the hiring of 200 additional teachers.
The budget passed by 11 votes to 6. Opponents argued that homeowners already faced record mortgage costs and that the city should first cut spending on consultants and office space.
Mayor Dana Whitfield said the increase would cost the average household about 12 dollars a month. "Residents told us they want buses that come on time and schools that are not overcrowded, and this budget delivers both," she said.
The transit plan adds four new express routes and increases weekday frequency on the ten busiest lines to a bus every eight minutes. Officials expect the changes to be in place by next September.
The council also voted to set aside 30 million dollars for repairs to the central library, which has been partly closed since a roof leak last winter.
A proposal to introduce a congestion charge in the downtown core was sent back to committee for further study.""",
    ),
}

_COMPANIES = ["Harbor Foods", "Kestrel Systems", "Pinecrest Energy", "Altura Mining",
              "Bluewater Logistics", "Corvid Pharma"]  # fmt: skip
_CLUBS = ["Eastbrook", "Hollins United", "Marlow Athletic", "Southport City", "Ferndale",
          "Oakham Rovers", "Wexley Town", "Granton"]  # fmt: skip
_PLAYERS = ["Jonas Berg", "Ade Okafor", "Luca Ferri", "Sami Haddad", "Piotr Nowak",
            "Diego Ramos", "Kenji Sato", "Rhys Evans", "Theo Martin", "Ivan Petrov"]  # fmt: skip


def _earnings(rng: random.Random, company: str) -> str:
    revenue = rng.randint(12, 90) / 10
    growth = rng.randint(-8, 15)
    eps = rng.randint(20, 240) / 100
    guide = rng.choice(["raised", "kept", "cut"])
    sentences = [
        f"{company} reported quarterly revenue of {revenue} billion dollars on {rng.choice(['Tuesday', 'Wednesday', 'Thursday'])}, "
        f"{'up' if growth >= 0 else 'down'} {abs(growth)}% from a year earlier, as {rng.choice(['demand held up', 'prices softened', 'new contracts came through', 'costs eased'])}.",
        f"Adjusted earnings per share came in at {eps} dollars, {rng.choice(['ahead of', 'in line with', 'below'])} the average analyst estimate.",
        f"The company {guide} its full-year outlook, citing {rng.choice(['a strong order book', 'weaker demand in Europe', 'currency headwinds', 'higher input costs', 'cost savings from its restructuring'])}.",
        rng.choice([
            f"Chief executive {rng.choice(_PLAYERS)} said the results showed the business was {rng.choice(['on track', 'resilient', 'turning a corner'])}.",
            f"Finance chief {rng.choice(_PLAYERS)} told analysts that margins should {rng.choice(['improve', 'stabilise', 'recover'])} in the second half.",
        ]),
        f"Shares {rng.choice(['rose', 'fell', 'were little changed'])} {rng.randint(1, 9)}% in {rng.choice(['early', 'afternoon', 'after-hours'])} trading.",
        rng.choice([
            f"The group employs about {rng.randint(2, 40)},000 people in {rng.randint(5, 30)} countries.",
            f"It plans to spend {rng.randint(100, 900)} million dollars on new {rng.choice(['plants', 'software', 'stores', 'ships'])} next year.",
            f"Analysts at {rng.choice(['Granite Securities', 'Northbank', 'Meridian Research'])} {rng.choice(['upgraded', 'downgraded'])} the stock after the results.",
        ]),
    ]  # fmt: skip
    return "\n".join(sentences)


def _match_report(rng: random.Random, home: str, away: str) -> str:
    hg, ag = rng.randint(0, 4), rng.randint(0, 4)
    scorer, other = rng.sample(_PLAYERS, 2)
    sentences = [
        f"{home} {'beat' if hg > ag else 'drew with' if hg == ag else 'lost to'} {away} {hg}-{ag} on "
        f"{rng.choice(['Saturday', 'Sunday', 'Wednesday'])} {rng.choice(['in front of a sell-out crowd', 'in driving rain', 'under the lights', 'at a half-empty stadium'])}.",
        f"{scorer} {rng.choice(['opened the scoring', 'struck first', 'broke the deadlock'])} in the {rng.randint(3, 44)}th minute "
        f"with a {rng.choice(['low shot', 'header', 'penalty', 'volley from the edge of the area'])}.",
        f"{other} {rng.choice(['hit the post', 'had a goal ruled out for offside', 'was booked for a late challenge', 'forced a fine save'])} "
        f"{rng.choice(['shortly after the break', 'midway through the second half', 'in stoppage time'])}.",
        f"The result {rng.choice(['lifts', 'leaves', 'drops'])} {home} to {rng.choice(['third', 'seventh', 'twelfth', 'fifth'])} in the table, "
        f"{rng.randint(1, 12)} points behind the leaders.",
        f"\"{rng.choice(['We deserved more', 'It was a hard-working performance', 'We have to be more clinical', 'The lads showed real character'])},\" "
        f"{rng.choice(['the manager', 'the captain', 'the coach'])} said afterwards.",
        f"{away} host {rng.choice(_CLUBS)} {rng.choice(['next weekend', 'on Tuesday', 'in the cup in midweek'])}.",
    ]  # fmt: skip
    return "\n".join(sentences)


def templated(rng: random.Random) -> dict[str, tuple[str, str]]:
    """Template-family originals: six market briefs and six match reports."""
    stories: dict[str, tuple[str, str]] = {}
    for i, company in enumerate(_COMPANIES):
        stories[f"earnings{i}"] = (f"{company} quarterly results", _earnings(rng, company))
    pairs = [tuple(rng.sample(_CLUBS, 2)) for _ in range(6)]
    for i, (home, away) in enumerate(pairs):
        stories[f"match{i}"] = (f"{home} v {away}", _match_report(rng, home, away))
    return stories


# Paragraphs an outlet adds around wire copy: background, house notes, local angles.
ADDED_PARAGRAPHS = (
    "Editor's note: this story has been updated with additional reporting and reaction from officials.",
    "Our correspondents in the region have been following developments closely and will bring you updates throughout the day as more information becomes available.",
    "The announcement comes at a sensitive time, with several governments preparing for elections next year and voters increasingly worried about the cost of living.",
    "Readers can find our full coverage, including explainers, maps and live updates, on our special page dedicated to the story.",
    "Local leaders said they would study the decision carefully before commenting on what it means for residents and businesses in the area.",
    "It was not immediately clear how the development would affect negotiations that had been expected to resume later this month.",
)  # fmt: skip
