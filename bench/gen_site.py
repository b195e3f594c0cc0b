#!/usr/bin/python3
"""Writes a synthetic casacal site of N events for the benchmarks.

    /usr/bin/python3 bench/gen_site.py N OUTDIR [--port P] [--start YYYY-MM-DD]

The mix follows a busy tiers-lieu: half single events, a quarter weekly
series (with exdates and moved occurrences), monthly BYDAY series, all-day
events, and a few programmes. Events start within the year after --start
(default: next Monday), so `[feeds] keep_past` leaves none out. The output is
deterministic for given arguments.
"""

import argparse
import datetime as dt
import random
from pathlib import Path

CATEGORIES = {
    "apero": ("Casapéros", "#e67e22"),
    "casacademie": ("CASAcadémie", "#2980b9"),
    "atelier": ("Ateliers", "#27ae60"),
    "weekend": ("Week-ends entrepreneuriaux", "#8e44ad"),
    "vie-du-lieu": ("Vie du lieu", "#7f8c8d"),
}
TOPICS = ["compta", "prospection", "pitch", "réseaux sociaux", "TVA", "statuts de Scic", "fab-lab",
          "réalité virtuelle", "prise de parole", "tarifs « Robin des bois »", "financement participatif"]
ROOMS = ["Espace convivial, rez-de-chaussée", "Salle 1, 1er étage", "Salle 2, 1er étage",
         "Salle de formation, 2e étage", "Terrasse du 3e étage", "Mini fab-lab, 1er étage"]
PER_FILE = 500
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def q(s):
    """A TOML basic string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def local(d, h, m=0):
    return f"{d.isoformat()}T{h:02d}:{m:02d}:00"


def nth_weekday(month, nth, weekday):
    """The nth (1..4, or -1 for the last) `weekday` of `month` (a first day)."""
    if nth > 0:
        return month + dt.timedelta(days=(weekday - month.weekday()) % 7 + 7 * (nth - 1))
    last = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def event(rng, i, base):
    kind = rng.random()
    cat = rng.choice(list(CATEGORIES))
    topic = rng.choice(TOPICS)
    day = base + dt.timedelta(days=rng.randrange(0, 330))
    hour = rng.choice([9, 10, 14, 17, 18])
    lines = ["[[event]]", f'id          = "ev-{i:05d}"', f"title       = {q(f'Atelier {topic} n° {i}')}",
             f'category    = "{cat}"']
    desc = (f"Séance {i} sur {topic} : échanges, exercices ; apportez vos questions.\n"
            f"Ouvert aux coworkers, et aux voisins, dans la limite des places.")
    if kind < 0.10:  # all-day, sometimes two days
        lines.append(f"start       = {day.isoformat()}")
        if rng.random() < 0.5:
            lines.append(f"end         = {(day + dt.timedelta(days=1)).isoformat()}")
    else:
        lines.append(f"start       = {local(day, hour, 30 if hour >= 17 else 0)}")
        lines.append(f'duration    = "PT{rng.choice([1, 2, 3])}H"')
    minute = 30 if hour >= 17 else 0
    if 0.10 <= kind < 0.35:  # weekly, with exdates and a moved occurrence
        if day.weekday() == 6:
            day += dt.timedelta(days=1)
        wd = DAYS[day.weekday()]
        lines[4] = f"start       = {local(day, hour, minute)}"
        interval = rng.choice([1, 1, 2])
        lines.append(f'rrule       = "FREQ=WEEKLY;INTERVAL={interval};BYDAY={wd}"')
        step = dt.timedelta(weeks=interval)
        ex = [day + step * k for k in sorted(rng.sample(range(2, 40), 2))]
        lines.append("exdates     = [" + ", ".join(local(d, hour, minute) for d in ex) + "]")
        tail = [f"location    = {q(rng.choice(ROOMS))}", f"description = {q(desc)}",
                'organizer   = "Équipe Casaco <bonjour@casaco.example>"']
        moved = day + step * rng.randrange(41, 45)
        tail += ["", "  [[event.override]]", f"  recurrence_id = {local(moved, hour, minute)}",
                 f"  start         = {local(moved + dt.timedelta(days=1), hour, minute)}",
                 f"  title         = {q(f'Atelier {topic} n° {i} (déplacé)')}"]
        return "\n".join(lines + tail) + "\n"
    if 0.35 <= kind < 0.50:  # monthly, n-th weekday of the month
        nth = rng.choice([1, 2, 3, -1])
        wd = rng.choice(["TU", "WE", "TH"])
        month = day.replace(day=1)
        while (d0 := nth_weekday(month, nth, DAYS.index(wd))) < base:
            month = (month + dt.timedelta(days=32)).replace(day=1)
        lines[4] = f"start       = {local(d0, 18, 30)}"
        lines.append(f'rrule       = "FREQ=MONTHLY;BYDAY={nth}{wd}"')
    lines += [f"location    = {q(rng.choice(ROOMS))}", f"description = {q(desc)}"]
    if rng.random() < 0.3:
        lines.append('price       = "Prix libre"')
    if rng.random() < 0.5:
        lines.append(f'url         = "https://casaco.example/ev/{i}"')
    return "\n".join(lines) + "\n"


def programme(i, base):
    day = base + dt.timedelta(days=7 * (i % 40) + (5 - base.weekday()) % 7)
    out = ["[[programme]]", f'id          = "weekend-{i:03d}"', f"title       = {q(f'Week-end entrepreneurial n° {i}')}",
           'category    = "weekend"', 'description = "Deux jours pour tester son idée, trouver des associés ; ouvert à tous."']
    for n, (offset, h0, h1) in enumerate([(0, 10, 12), (0, 14, 18), (1, 10, 17)]):
        d = day + dt.timedelta(days=offset)
        out += ["", "  [[programme.session]]", f"  title = {q(f'Session {n + 1}')}",
                f"  start = {local(d, h0)}", f"  end   = {local(d, h1)}", f"  location = {q(ROOMS[n])}"]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--start", type=dt.date.fromisoformat)
    args = ap.parse_args()
    today = dt.date.today()
    base = args.start or today + dt.timedelta(days=7 - today.weekday())
    rng = random.Random(args.n)
    out = args.outdir
    (out / "events.d").mkdir(parents=True, exist_ok=True)
    cats = "\n".join(f'[categories.{k}]\nname  = {q(v[0])}\ncolor = "{v[1]}"\n' for k, v in CATEGORIES.items())
    (out / "casacal.toml").write_text(f"""[site]
name     = "Casaco (banc d'essai, {args.n} événements)"
base_url = "http://127.0.0.1:{args.port}"
domain   = "casaco.example"
timezone = "Europe/Paris"
locale   = "fr"
events   = "events.d"
members  = "members.toml"

[http]
listen = "127.0.0.1:{args.port}"

[storage]
database = "casacal.db"

[smtp]
pickup_dir = "outbox"

[reminders]
offsets = ["P1D", "PT2H"]

[feeds]
keep_past = "P90D"

{cats}""", encoding="utf-8")
    members = []
    for m in range(20):
        members.append(f'[[member]]\nemail = "membre{m:02d}@example.org"\nname = "Membre {m}"\n'
                       f'categories = [{q(list(CATEGORIES)[m % 5])}]\n')
    (out / "members.toml").write_text("\n".join(members), encoding="utf-8")
    n_prog = max(1, args.n // 200)
    chunks = [event(rng, i, base) for i in range(args.n - n_prog)] + [programme(i, base) for i in range(n_prog)]
    for f in range(0, len(chunks), PER_FILE):
        (out / "events.d" / f"events-{f // PER_FILE:03d}.toml").write_text("\n".join(chunks[f:f + PER_FILE]),
                                                                            encoding="utf-8")
    print(out / "casacal.toml")


if __name__ == "__main__":
    main()
