"""What Parley says about participants' rights (#7): consent renewal, STOP, my data, withdrawal."""

EN: dict[str, str] = {
    "consent.changed": "The consent text of this study has changed since you agreed. Please read it again: we continue once you agree.",
    "rights.stopped": "You will not receive any more messages from this study. Type start if you want to hear from us again.",
    "rights.restarted": "You will receive messages from this study again.",
    "rights.nothing_stored": "This study does not store anything about you.",
    "rights.my_data": "Everything this study stores about you, as of {when} (UTC).",
    "rights.withdraw_question": "Do you want to withdraw from this study? You will receive no more messages, and your reminders, follow-ups and discussion-group replies will be cancelled. {effects}",
    "rights.effect.delete": "Your answers will be erased.",
    "rights.effect.keep_anonymous": "Your answers will be kept without your name, organisation or accounts, so they can no longer be linked to you.",
    "rights.withdraw_hint": "Press a button to confirm or cancel.",
    "rights.confirm": "Yes, withdraw",
    "rights.cancel": "No, cancel",
    "rights.withdraw_cancelled": "Nothing has changed: you are still taking part.",
    "rights.done.delete": "Your answers have been erased.",
    "rights.done.keep_anonymous": "Your answers are kept without your name, organisation or accounts.",
    "rights.withdrawn": "You have withdrawn from this study. {done} You will receive no more messages. Your receipt code is {code}: quote it if you contact the research team.",
}

FR: dict[str, str] = {
    "consent.changed": "Le texte de consentement de cette étude a changé depuis votre accord. Veuillez le relire : nous continuerons une fois votre accord donné.",
    "rights.stopped": "Vous ne recevrez plus de messages de cette étude. Écrivez commencer si vous souhaitez en recevoir à nouveau.",
    "rights.restarted": "Vous recevrez à nouveau les messages de cette étude.",
    "rights.nothing_stored": "Cette étude ne conserve rien à votre sujet.",
    "rights.my_data": "Tout ce que cette étude conserve à votre sujet, au {when} (UTC).",
    "rights.withdraw_question": "Voulez-vous vous retirer de cette étude? Vous ne recevrez plus de messages, et vos rappels, suivis et réponses aux groupes de discussion seront annulés. {effects}",
    "rights.effect.delete": "Vos réponses seront effacées.",
    "rights.effect.keep_anonymous": "Vos réponses seront conservées sans votre nom, votre organisme ni vos comptes : elles ne pourront plus vous être associées.",
    "rights.withdraw_hint": "Appuyez sur un bouton pour confirmer ou annuler.",
    "rights.confirm": "Oui, me retirer",
    "rights.cancel": "Non, annuler",
    "rights.withdraw_cancelled": "Rien n'a changé : vous participez toujours.",
    "rights.done.delete": "Vos réponses ont été effacées.",
    "rights.done.keep_anonymous": "Vos réponses sont conservées sans votre nom, votre organisme ni vos comptes.",
    "rights.withdrawn": "Vous vous êtes retiré·e de cette étude. {done} Vous ne recevrez plus de messages. Votre code de reçu est {code} : indiquez-le si vous contactez l'équipe de recherche.",
}
