"""Re-prompts for replies the engine cannot use, saying what is accepted."""

EN: dict[str, str] = {
    # What each item accepts, said when asking and after every rejection.
    "hint.single_choice": "Reply with a number from 1 to {count} or the name of an option.",
    "hint.multi_choice": "Choose one or more, then Done.",
    "hint.multi_choice_up_to": "Choose one or more (up to {max}), then Done.",
    "hint.multi_choice_at_least": "Choose at least {min}, then Done.",
    "hint.multi_choice_between": "Choose from {min} to {max}, then Done.",
    "hint.multi_choice_exactly": "Choose {count}, then Done.",
    "hint.multi_typed": "Reply with numbers from 1 to {count} or names of options, separated by commas.",
    "hint.scale": "Reply with a number from {min} to {max}.",
    "hint.scale_labelled": "Reply with a number from {min} ({min_label}) to {max} ({max_label}).",
    "hint.yes_no": "Reply yes or no.",
    "hint.number": "Reply with {what}.",
    "hint.text": "Reply in your own words.",
    "hint.text_limited": "Reply in your own words (up to {max} characters).",
    "hint.date": "Reply with a date, e.g. 2026-11-26.",
    # Pieces of `hint.number`; `{what}` is the piece before.
    "number.any": "a number",
    "number.whole": "a whole number",
    "number.between": "{what} from {min} to {max}",
    "number.at_least": "{what} of at least {min}",
    "number.at_most": "{what} up to {max}",
    "number.with_unit": "{what} ({unit})",
    # Why a reply was not accepted; `{hint}` is the matching hint above.
    "answer.unrecognised": "Sorry, I didn’t understand that. {hint}",
    "answer.choice_unknown": "I didn’t recognise that choice. {hint}",
    "answer.multi_unknown": "I didn’t recognise “{text}”. {hint}",
    "answer.no_such_option": "There is no option {number}. {hint}",
    "answer.choice_ambiguous": (
        "“{text}” matches several options: {candidates}. Reply with the number of the one you mean."
    ),
    "answer.exclusive": "“{choice}” can’t be combined with other options. Choose it alone, or leave it out.",
    "answer.none_selected": "Please choose at least one option, then Done.",
    "answer.too_few": "You chose {count}, but at least {min} are needed.",
    "answer.too_many": "You chose {count}, but you can choose at most {max}.",
    "answer.scale_out_of_range": "{value} is not on the scale. {hint}",
    "answer.scale_not_whole": "The scale only has whole numbers. {hint}",
    "answer.number_unrecognised": "I didn’t find a number in that. {hint}",
    "answer.number_several": "I found more than one number in that. {hint}",
    "answer.number_not_whole": "That isn’t a whole number. {hint}",
    "answer.number_out_of_range": "{value} is outside the accepted range. {hint}",
    "answer.text_empty": "I didn’t get any text. {hint}",
    "answer.text_too_long": (
        "That answer is {length} characters long, but the limit is {max}. Please shorten it."
    ),
    "answer.date_unrecognised": "I didn’t recognise that date. {hint}",
    "answer.date_ambiguous": "That date is ambiguous: write it like 2026-11-26.",
    "answer.date_invalid": "That date doesn’t exist. {hint}",
    # How accepted answers are shown back.
    "answer.yes": "Yes",
    "answer.no": "No",
    "answer.nothing_selected": "None selected",
}

FR: dict[str, str] = {
    "hint.single_choice": "Répondez par un numéro de 1 à {count} ou par le nom d’une option.",
    "hint.multi_choice": "Choisissez une ou plusieurs options, puis Terminé.",
    "hint.multi_choice_up_to": "Choisissez une ou plusieurs options (jusqu’à {max}), puis Terminé.",
    "hint.multi_choice_at_least": "Choisissez-en au moins {min}, puis Terminé.",
    "hint.multi_choice_between": "Choisissez-en de {min} à {max}, puis Terminé.",
    "hint.multi_choice_exactly": "Choisissez-en {count}, puis Terminé.",
    "hint.multi_typed": (
        "Répondez par des numéros de 1 à {count} ou des noms d’options, séparés par des virgules."
    ),
    "hint.scale": "Répondez par un nombre de {min} à {max}.",
    "hint.scale_labelled": "Répondez par un nombre de {min} ({min_label}) à {max} ({max_label}).",
    "hint.yes_no": "Répondez oui ou non.",
    "hint.number": "Répondez par {what}.",
    "hint.text": "Répondez dans vos propres mots.",
    "hint.text_limited": "Répondez dans vos propres mots ({max} caractères au maximum).",
    "hint.date": "Répondez par une date, par exemple 2026-11-26.",
    "number.any": "un nombre",
    "number.whole": "un nombre entier",
    "number.between": "{what} de {min} à {max}",
    "number.at_least": "{what} d’au moins {min}",
    "number.at_most": "{what} ne dépassant pas {max}",
    "number.with_unit": "{what} ({unit})",
    "answer.unrecognised": "Désolé, je n’ai pas compris. {hint}",
    "answer.choice_unknown": "Je n’ai pas reconnu ce choix. {hint}",
    "answer.multi_unknown": "Je n’ai pas reconnu « {text} ». {hint}",
    "answer.no_such_option": "Il n’y a pas d’option {number}. {hint}",
    "answer.choice_ambiguous": (
        "« {text} » correspond à plusieurs options : {candidates}. "
        "Répondez par le numéro de celle que vous voulez dire."
    ),
    "answer.exclusive": (
        "« {choice} » ne peut pas être combiné avec d’autres options. "
        "Choisissez-le seul, ou retirez-le."
    ),
    "answer.none_selected": "Veuillez choisir au moins une option, puis Terminé.",
    "answer.too_few": "Vous en avez choisi {count}, mais il en faut au moins {min}.",
    "answer.too_many": "Vous en avez choisi {count}, mais vous pouvez en choisir au plus {max}.",
    "answer.scale_out_of_range": "{value} ne fait pas partie de l’échelle. {hint}",
    "answer.scale_not_whole": "L’échelle ne comporte que des nombres entiers. {hint}",
    "answer.number_unrecognised": "Je n’ai pas trouvé de nombre dans votre réponse. {hint}",
    "answer.number_several": "J’ai trouvé plus d’un nombre dans votre réponse. {hint}",
    "answer.number_not_whole": "Ce n’est pas un nombre entier. {hint}",
    "answer.number_out_of_range": "{value} est en dehors des valeurs acceptées. {hint}",
    "answer.text_empty": "Je n’ai reçu aucun texte. {hint}",
    "answer.text_too_long": (
        "Cette réponse compte {length} caractères, mais la limite est de {max}. "
        "Veuillez la raccourcir."
    ),
    "answer.date_unrecognised": "Je n’ai pas reconnu cette date. {hint}",
    "answer.date_ambiguous": "Cette date est ambiguë : écrivez-la comme 2026-11-26.",
    "answer.date_invalid": "Cette date n’existe pas. {hint}",
    "answer.yes": "Oui",
    "answer.no": "Non",
    "answer.nothing_selected": "Aucune option choisie",
}
