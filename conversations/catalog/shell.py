"""What the shell says outside a questionnaire: bot commands, invitations, researcher replies."""

EN: dict[str, str] = {
    "command.back": "Go back to the previous question",
    "command.skip": "Skip this question (when allowed)",
    "command.pause": "Pause; continue any time",
    "command.help": "How to answer",
    "command.language": "Change language: /language fr",
    "command.progress": "How far along you are",
    "command.stop": "Stop all messages from this study",
    "invite.unknown": "This invitation link is not valid. Please check that you used the whole link, or ask the research team for a new one.",
    "invite.expired": "This invitation link has expired. Please ask the research team for a new one.",
    "invite.used": "This invitation link has already been used. If that was not you, please contact the research team.",
    "preview.asked_if": "(asked only if: {condition})",
    "researcher.refused": "Sorry, only members of the research team can use that command.",
    "researcher.unknown": "Unknown command. Researcher commands: {commands}.",
    "researcher.status": "{title}: {invited} invited · {consenting} at consent · {in_progress} in progress · {paused} paused · {completed} completed · {withdrawn} stopped · {declined} declined.",
}

FR: dict[str, str] = {
    "command.back": "Revenir à la question précédente",
    "command.skip": "Passer cette question (si permis)",
    "command.pause": "Faire une pause; continuer plus tard",
    "command.help": "Comment répondre",
    "command.language": "Changer de langue : /language en",
    "command.progress": "Où vous en êtes",
    "command.stop": "Arrêter tous les messages de cette étude",
    "invite.unknown": "Ce lien d’invitation n’est pas valide. Vérifiez que vous avez utilisé le lien au complet, ou demandez-en un nouveau à l’équipe de recherche.",
    "invite.expired": "Ce lien d’invitation a expiré. Veuillez en demander un nouveau à l’équipe de recherche.",
    "invite.used": "Ce lien d’invitation a déjà été utilisé. Si ce n’était pas vous, veuillez communiquer avec l’équipe de recherche.",
    "preview.asked_if": "(posée seulement si : {condition})",
    "researcher.refused": "Désolé, seuls les membres de l’équipe de recherche peuvent utiliser cette commande.",
    "researcher.unknown": "Commande inconnue. Commandes de recherche : {commands}.",
    "researcher.status": "{title} : {invited} invités · {consenting} au consentement · {in_progress} en cours · {paused} en pause · {completed} terminés · {withdrawn} arrêtés · {declined} refus.",
}
