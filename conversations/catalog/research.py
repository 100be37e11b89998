"""What Parley says to researchers about scheduling in chat (#5): help, usage, refusals.

The lines describing what was scheduled come from the code the CLI shares and stay in
English, like the CLI; everything wrapped around them is here, in both languages.
"""

EN: dict[str, str] = {
    "research.help": (
        "Researcher commands (times in {zone}):\n"
        "{slash}status · how the study is going\n"
        "{slash}invite @someone · invite people on Slack\n"
        "{slash}digest · the digest (a status summary for now)\n"
        "{slash}followup add <questionnaire> <who> <when> [--zone Z] [--wave W] · schedule a check-in\n"
        "   who: all, completed, stakeholder:ID[,ID], org_type:X, region:X, language:fr\n"
        "   when: 2027-01-15 10:00 · tomorrow 09:30 · every 4 weeks until 2027-06-30 starting 2027-01-15 10:00 · 14 days after completed\n"
        "{slash}followup list · {slash}followup cancel ID\n"
        "{groups}"
    ),
    "research.followup_usage": "Usage: {slash}followup add <questionnaire> <who> <when> [--zone Z] [--wave W] · {slash}followup list [--zone Z] · {slash}followup cancel ID",
    "research.not_scheduled": "Nothing was scheduled. {reason}",
}

FR: dict[str, str] = {
    "research.help": (
        "Commandes de recherche (heures de {zone}) :\n"
        "{slash}status · où en est l’étude\n"
        "{slash}invite @quelqu’un · inviter des personnes sur Slack\n"
        "{slash}digest · le résumé (un état de l’étude pour l’instant)\n"
        "{slash}followup add <questionnaire> <qui> <quand> [--zone Z] [--wave W] · planifier un suivi\n"
        "   qui : all, completed, stakeholder:ID[,ID], org_type:X, region:X, language:fr\n"
        "   quand : 2027-01-15 10:00 · tomorrow 09:30 · every 4 weeks until 2027-06-30 starting 2027-01-15 10:00 · 14 days after completed\n"
        "{slash}followup list · {slash}followup cancel ID\n"
        "{groups}"
    ),
    "research.followup_usage": "Utilisation : {slash}followup add <questionnaire> <qui> <quand> [--zone Z] [--wave W] · {slash}followup list [--zone Z] · {slash}followup cancel ID",
    "research.not_scheduled": "Rien n’a été planifié. {reason}",
}
