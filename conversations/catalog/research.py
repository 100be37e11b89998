"""What Parley says to researchers about scheduling in chat (#5): help, usage, refusals.

The lines describing what was scheduled come from the code the CLI shares and stay in
English, like the CLI; everything wrapped around them is here, in both languages.
"""

EN: dict[str, str] = {
    "research.help": (
        "Researcher commands (times in {zone}):\n"
        "{slash}status · how the study is going\n"
        "{slash}invite @someone · invite people on Slack\n"
        "{slash}digest [en|fr] · post the digest to the research channel now\n"
        "{slash}followup add <questionnaire> <who> <when> [--zone Z] [--wave W] · schedule a check-in\n"
        "   who: all, completed, stakeholder:ID[,ID], org_type:X, region:X, language:fr\n"
        "   when: 2027-01-15 10:00 · tomorrow 09:30 · every 4 weeks until 2027-06-30 starting 2027-01-15 10:00 · 14 days after completed\n"
        "{slash}followup list · {slash}followup cancel ID\n"
        "{groups}"
    ),
    "research.followup_usage": "Usage: {slash}followup add <questionnaire> <who> <when> [--zone Z] [--wave W] · {slash}followup list [--zone Z] · {slash}followup cancel ID",
    "research.not_scheduled": "Nothing was scheduled. {reason}",
    "modal.title": "New discussion group",
    "modal.submit": "Create",
    "modal.close": "Cancel",
    "modal.minutes": "{n} min",
    "modal.field.title": "Title",
    "modal.field.date": "Date",
    "modal.field.time": "Start time",
    "modal.field.duration": "Duration",
    "modal.field.zone": "Time zone",
    "modal.field.where": "Place or video link",
    "modal.field.capacity": "Places (leave empty for no limit)",
    "modal.field.invitees": "Invite people",
    "modal.field.cohort": "…or a cohort",
    "modal.cohort_hint": "all, completed, region:ns, org_type:university, language:fr, stakeholder:3,7",
    "modal.error.title_missing": "Give the session a title.",
    "modal.error.where_missing": "Give a place or a video link.",
    "modal.error.duration": "Pick a duration.",
    "modal.error.capacity": "A whole number of places, at least 1 (or leave it empty).",
    "modal.error.who_missing": "Pick people to invite, or type a cohort below.",
    "modal.error.who_both": "Pick people or type a cohort, not both.",
    "modal.error.zone": "Pick a time zone.",
    "modal.error.date_missing": "Pick a date.",
    "modal.error.time_missing": "Pick a start time.",
    "modal.error.past": "{when} {zone} is in the past.",
    "modal.error.ambiguous": "{time} happens twice on {date} in {zone} (the clocks fall back): pick another time.",
    "modal.error.skipped": "{time} does not exist on {date} in {zone} (the clocks spring forward): pick another time.",
    "research.help_groups": (
        '{slash}group create "<title>" <start> --where <place or link> --to <who> [--duration 60 | --end 15:00] [--capacity N] [--zone Z] · a discussion group\n'
        "   who: as above, or names and ids (Ann Lee, 7), or Slack people (@someone); on Slack, /parley group new opens a form\n"
        "{slash}group list [--past] · {slash}group rsvps ID · {slash}group reschedule ID <start> [--duration D] · {slash}group cancel ID\n"
        '{slash}group poll create "<title>" <slot> | <slot> … --where … --to … [--duration 60] · find a time (2-6 slots)\n'
        "{slash}group poll results ID · {slash}group poll confirm ID <slot>"
    ),
    "research.group_usage": 'Usage: {slash}group create "<title>" <start> --where … --to … · {slash}group list · rsvps ID · reschedule ID <start> · cancel ID · poll create|results|confirm … ({slash}help for details)',
}

FR: dict[str, str] = {
    "research.help": (
        "Commandes de recherche (heures de {zone}) :\n"
        "{slash}status · où en est l’étude\n"
        "{slash}invite @quelqu’un · inviter des personnes sur Slack\n"
        "{slash}digest [en|fr] · publier le résumé dans le canal de recherche maintenant\n"
        "{slash}followup add <questionnaire> <qui> <quand> [--zone Z] [--wave W] · planifier un suivi\n"
        "   qui : all, completed, stakeholder:ID[,ID], org_type:X, region:X, language:fr\n"
        "   quand : 2027-01-15 10:00 · tomorrow 09:30 · every 4 weeks until 2027-06-30 starting 2027-01-15 10:00 · 14 days after completed\n"
        "{slash}followup list · {slash}followup cancel ID\n"
        "{groups}"
    ),
    "research.followup_usage": "Utilisation : {slash}followup add <questionnaire> <qui> <quand> [--zone Z] [--wave W] · {slash}followup list [--zone Z] · {slash}followup cancel ID",
    "research.not_scheduled": "Rien n’a été planifié. {reason}",
    "modal.title": "Groupe de discussion",
    "modal.submit": "Créer",
    "modal.close": "Annuler",
    "modal.minutes": "{n} min",
    "modal.field.title": "Titre",
    "modal.field.date": "Date",
    "modal.field.time": "Heure de début",
    "modal.field.duration": "Durée",
    "modal.field.zone": "Fuseau horaire",
    "modal.field.where": "Lieu ou lien vidéo",
    "modal.field.capacity": "Places (laisser vide : sans limite)",
    "modal.field.invitees": "Inviter des personnes",
    "modal.field.cohort": "…ou un groupe",
    "modal.cohort_hint": "all, completed, region:ns, org_type:university, language:fr, stakeholder:3,7",
    "modal.error.title_missing": "Donnez un titre à la séance.",
    "modal.error.where_missing": "Indiquez un lieu ou un lien vidéo.",
    "modal.error.duration": "Choisissez une durée.",
    "modal.error.capacity": "Un nombre entier de places, au moins 1 (ou laissez vide).",
    "modal.error.who_missing": "Choisissez des personnes à inviter, ou tapez un groupe ci-dessous.",
    "modal.error.who_both": "Choisissez des personnes ou tapez un groupe, pas les deux.",
    "modal.error.zone": "Choisissez un fuseau horaire.",
    "modal.error.date_missing": "Choisissez une date.",
    "modal.error.time_missing": "Choisissez une heure de début.",
    "modal.error.past": "{when} {zone} est dans le passé.",
    "modal.error.ambiguous": "{time} revient deux fois le {date} à {zone} (on recule l’heure) : choisissez une autre heure.",
    "modal.error.skipped": "{time} n’existe pas le {date} à {zone} (on avance l’heure) : choisissez une autre heure.",
    "research.help_groups": (
        '{slash}group create "<titre>" <début> --where <lieu ou lien> --to <qui> [--duration 60 | --end 15:00] [--capacity N] [--zone Z] · un groupe de discussion\n'
        "   qui : comme ci-dessus, ou des noms et numéros (Ann Lee, 7), ou des personnes Slack (@quelqu’un); sur Slack, /parley group new ouvre un formulaire\n"
        "{slash}group list [--past] · {slash}group rsvps ID · {slash}group reschedule ID <début> [--duration D] · {slash}group cancel ID\n"
        '{slash}group poll create "<titre>" <créneau> | <créneau> … --where … --to … [--duration 60] · trouver un moment (2 à 6 créneaux)\n'
        "{slash}group poll results ID · {slash}group poll confirm ID <créneau>"
    ),
    "research.group_usage": 'Utilisation : {slash}group create "<titre>" <début> --where … --to … · {slash}group list · rsvps ID · reschedule ID <début> · cancel ID · poll create|results|confirm … ({slash}help pour les détails)',
}
