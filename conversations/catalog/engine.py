"""What the engine says around the questions: consent, navigation, commands, closing."""

EN: dict[str, str] = {
    "consent.intro": "Welcome to “{title}”.",
    "consent.duration": "It takes about {minutes} minutes. You can pause at any time and continue later.",
    "consent.agree": "I agree",
    "consent.decline": "I do not agree",
    "consent.hint": "Reply “I agree” to begin, or “I do not agree” to decline.",
    "consent.declined": (
        "Thank you for your time. Nothing you have said has been recorded. "
        "If you change your mind, type start."
    ),
    "consent.still_declined": "You declined to take part. If you change your mind, type start.",
    "run.welcome_back": "Welcome back! Let’s continue where you left off.",
    "run.completed": "You have already completed this questionnaire. Thank you!",
    "run.paused": ("Paused. Your answers so far are saved. Type continue whenever you are ready."),
    "run.stopped": (
        "You will not receive any more messages about this study. Your answers so far are "
        "kept. Type start if you want to continue later."
    ),
    "run.still_stopped": "You have stopped this questionnaire. Type start to continue.",
    "run.stale": "That question has already been answered.",
    "run.unknown_command": "I don’t know that command. You can use /back, /skip, /pause, /help, /language, /progress or /stop.",
    "run.unreadable": "I can only read text messages and button presses here. Please type your answer.",
    "run.first_question": "This is the first question; there is nothing to go back to.",
    "run.not_skippable": "This question needs an answer.",
    "run.next_needs_answer": "Please answer this question first.",
    "run.constraint_failed": "That answer is not possible here.",
    "run.specify_other": "Please specify:",
    "run.specify_hint": "Reply with a short description.",
    "run.skipped": "Skipped",
    "run.prefer_not": "Prefer not to say",
    "run.current_answer": "Your current answer: {display}. Reply to change it, or type next to keep it.",
    "run.default_hint": "Suggested answer: {display}. Type keep (or press Keep) to accept it, or answer as usual. {hint}",
    "run.default_option": "★ {label}",
    "run.keep_default": "Keep: {display}",
    "run.done": "Done",
    "run.back": "Back",
    "run.yes": "Yes",
    "run.no": "No",
    "run.scale_legend": "{min} = {min_label} … {max} = {max_label}",
    "progress.line": "Question {number} of {total} · Section {section_number}: {section}",
    "progress.summary": "{answered} of {total} questions answered.",
    "section.heading": "Section {number}: {title}",
    "help.general": (
        "Answer each question by choosing an option or typing a reply. You can also type: "
        "back (previous question), skip (if the question allows it), pause, progress, "
        "language fr, or stop."
    ),
    "error.sorry": "Sorry, something went wrong on our side. Your earlier answers are safe; please try again in a moment.",
    "enrollment.invitation_only": "Hello! This study is by invitation only. If you received an invitation link, please open it to take part.",
    "language.changed": "I will continue in English.",
    "language.unknown": "This questionnaire is available in: {languages}. Type for example “language fr”.",
}

FR: dict[str, str] = {
    "consent.intro": "Bienvenue à « {title} ».",
    "consent.duration": (
        "Cela prend environ {minutes} minutes. Vous pouvez faire une pause à tout moment et "
        "continuer plus tard."
    ),
    "consent.agree": "J’accepte",
    "consent.decline": "Je n’accepte pas",
    "consent.hint": "Répondez « J’accepte » pour commencer, ou « Je n’accepte pas » pour refuser.",
    "consent.declined": (
        "Merci de votre temps. Rien de ce que vous avez dit n’a été enregistré. "
        "Si vous changez d’avis, tapez commencer."
    ),
    "consent.still_declined": "Vous avez refusé de participer. Si vous changez d’avis, tapez commencer.",
    "run.welcome_back": "Bon retour! Reprenons là où vous vous étiez arrêté.",
    "run.completed": "Vous avez déjà rempli ce questionnaire. Merci!",
    "run.paused": (
        "En pause. Vos réponses sont enregistrées. Tapez continuer quand vous serez prêt."
    ),
    "run.stopped": (
        "Vous ne recevrez plus de messages au sujet de cette étude. Vos réponses sont "
        "conservées. Tapez commencer si vous voulez continuer plus tard."
    ),
    "run.still_stopped": "Vous avez arrêté ce questionnaire. Tapez commencer pour continuer.",
    "run.stale": "On a déjà répondu à cette question.",
    "run.unknown_command": "Je ne connais pas cette commande. Vous pouvez utiliser /back, /skip, /pause, /help, /language, /progress ou /stop.",
    "run.unreadable": "Je ne peux lire ici que des messages texte et des boutons. Veuillez taper votre réponse.",
    "run.first_question": "C’est la première question; il n’y a rien avant.",
    "run.not_skippable": "Cette question exige une réponse.",
    "run.next_needs_answer": "Veuillez d’abord répondre à cette question.",
    "run.constraint_failed": "Cette réponse n’est pas possible ici.",
    "run.specify_other": "Veuillez préciser :",
    "run.specify_hint": "Répondez par une courte description.",
    "run.skipped": "Question passée",
    "run.prefer_not": "Je préfère ne pas répondre",
    "run.current_answer": (
        "Votre réponse actuelle : {display}. Répondez pour la changer, ou tapez suivant pour "
        "la garder."
    ),
    "run.default_hint": (
        "Réponse suggérée : {display}. Tapez garder (ou appuyez sur Garder) pour l’accepter, "
        "ou répondez comme d’habitude. {hint}"
    ),
    "run.default_option": "★ {label}",
    "run.keep_default": "Garder : {display}",
    "run.done": "Terminé",
    "run.back": "Retour",
    "run.yes": "Oui",
    "run.no": "Non",
    "run.scale_legend": "{min} = {min_label} … {max} = {max_label}",
    "progress.line": "Question {number} de {total} · Section {section_number} : {section}",
    "progress.summary": "{answered} questions sur {total} ont une réponse.",
    "section.heading": "Section {number} : {title}",
    "help.general": (
        "Répondez à chaque question en choisissant une option ou en tapant une réponse. "
        "Vous pouvez aussi taper : retour (question précédente), passer (si la question le "
        "permet), pause, progression, langue en, ou arrêter."
    ),
    "error.sorry": "Désolé, un problème est survenu de notre côté. Vos réponses précédentes sont en sécurité; veuillez réessayer dans un instant.",
    "enrollment.invitation_only": "Bonjour! Cette étude se fait sur invitation seulement. Si vous avez reçu un lien d’invitation, ouvrez-le pour participer.",
    "language.changed": "Je continue en français.",
    "language.unknown": (
        "Ce questionnaire est offert en : {languages}. Tapez par exemple « langue en »."
    ),
}
