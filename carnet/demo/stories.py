"""The situations the demo tells: for each, what the diagnostic finds, the plan d'action
built on it, what is said in appointments and written in notes, in our own words.

A person of the demo lives one of these stories. Every section of his or her record is
drawn from the same story (the diagnostic's situations are the freins, the plan's axes
answer them, the appointments' topics and the notes follow the steps), so a record reads
as one journey. Texts take the person's words through `Words`: `{e}` for agreement
(« hébergé{e} »), `{il}`/`{Il}`, `{lui}`, `{city}` and `{foyer}` (« avec deux enfants à
charge »).

Labels of situations, objectives and actions are those of the département's seeded
referential (`carnet.referential.seed_data`), so they link to its entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from carnet.meetings.models import NoteVisibility
from carnet.records.models import Beneficiary, DigitalAutonomy, Sex

NUMBERS = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six")


@dataclass(frozen=True)
class PlanStep:
    """One objective of the plan (its theme's code and label) and its actions, in order."""

    theme: str
    objective: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Story:
    key: str
    # The accompaniments (demo `SituationSpec.key`) this story suits.
    situations: tuple[str, ...]
    # (theme code, situation label) found by the diagnostic; the first is the main one, the
    # second the one settled by the time of a second version.
    diagnostic: tuple[tuple[str, str], ...]
    plan: tuple[PlanStep, ...]
    focus: str  # what is under way, as a noun phrase (« la demande de logement social »)
    first_summaries: tuple[str, ...]
    later_summaries: tuple[str, ...]
    topics: tuple[str, ...]
    group_notes: tuple[str, ...]
    shared_notes: tuple[str, ...]
    private_notes: tuple[str, ...]
    needs_children: bool = False
    # The person learns to do things online (still with some help): the first diagnostic
    # found no access at all; lived only by people who need help online today.
    digital_progress: bool = False
    # Projects that fit (ROME codes or free labels of `carnet.demo.projects.AIMS`).
    aims: tuple[str, ...] = ()


STORIES: tuple[Story, ...] = (
    Story(
        "hebergement",
        ("sociale", "socio_professionnelle", "jeune"),
        (
            ("logement", "Hébergé·e chez un proche"),
            ("difficultes_administratives", "Droits sociaux non ouverts ou interrompus"),
            ("emploi", "Reprise d'activité après une longue interruption"),
        ),
        (
            PlanStep(
                "logement",
                "Accéder à un logement stable",
                (
                    "Déposer une demande de logement social",
                    "Faire une demande d'aide au logement auprès de la CAF",
                    "Rencontrer une conseillère en économie sociale et familiale",
                ),
            ),
            PlanStep(
                "difficultes_administratives",
                "Ouvrir tous ses droits",
                (
                    "Faire le point sur ses droits avec un travailleur social",
                    "Déclarer ses ressources trimestrielles",
                ),
            ),
            PlanStep(
                "emploi",
                "Reprendre une activité par une étape d'insertion",
                ("Réaliser une immersion en entreprise", "Entrer dans un chantier d'insertion"),
            ),
        ),
        "la demande de logement social et la réouverture des droits CAF",
        (
            "Hébergé{e} chez un proche à {city}, {foyer}, dans un logement trop petit pour "
            "tout le monde. Priorité : un logement à soi ; l'emploi viendra ensuite.",
            "Depuis la séparation, {il} dort chez sa sœur à {city}, {foyer}. Les droits CAF ont "
            "été interrompus au déménagement : c'est la première démarche.",
            "Logement perdu au printemps ; {il} est hébergé{e} par des amis à {city}, {foyer}. "
            "{Il} souhaite d'abord se poser avant de parler de travail.",
        ),
        (
            "Demande de logement social déposée et droits CAF rouverts ; {il} attend une "
            "proposition du bailleur et se dit prêt{e} à reprendre une activité à temps partiel.",
            "Une proposition de T2 à {city} est à l'étude ; le dossier du fonds de solidarité "
            "logement est prêt pour le dépôt de garantie. L'emploi redevient un sujet.",
        ),
        (
            "Faire le point sur l'hébergement actuel et sur la demande de logement social.",
            "Compléter la demande de logement : apporter l'avis d'imposition et une attestation "
            "d'hébergement.",
            "Suivi de la demande de logement et des droits CAF ; premières pistes d'activité.",
        ),
        (
            "Demande de logement social enregistrée ; le numéro unique a été remis à la "
            "personne. Droits CAF à vérifier.",
            "Hébergement chez le proche possible encore quelques mois ; la recherche de logement "
            "reste la priorité.",
        ),
        (
            "Merci pour votre venue. Pensez à renouveler votre demande de logement chaque année ; "
            "je vous enverrai un rappel un mois avant.",
            "Pour notre prochain rendez-vous, apportez votre dernier avis d'imposition et "
            "l'attestation d'hébergement signée par votre proche.",
        ),
        ("Cohabitation qui semble tendue : reparler de l'hébergement d'urgence si besoin.",),
        aims=("K2204", "G1605", "Réparer des vélos dans un atelier solidaire"),
    ),
    Story(
        "impayes",
        ("sociale", "socio_professionnelle"),
        (
            ("logement", "Impayés de loyer ou menace d'expulsion"),
            ("difficultes_financieres", "Dettes ou crédits en retard"),
            ("difficultes_financieres", "Reste à vivre insuffisant"),
        ),
        (
            PlanStep(
                "difficultes_financieres",
                "Traiter ses dettes",
                (
                    "Établir un budget avec une conseillère",
                    "Déposer un dossier de surendettement",
                ),
            ),
            PlanStep(
                "logement",
                "Se maintenir dans son logement",
                (
                    "Constituer le dossier du fonds de solidarité logement",
                    "Faire une demande d'aide au logement auprès de la CAF",
                ),
            ),
            PlanStep(
                "difficultes_financieres",
                "Équilibrer son budget",
                ("Demander une aide financière ponctuelle",),
            ),
        ),
        "l'échéancier de la dette de loyer et le budget du foyer",
        (
            "Trois mois de loyer en retard et un commandement de payer reçu ; {il} vit à "
            "{city}, {foyer}. On commence par le budget et le maintien dans le logement.",
            "Plusieurs crédits à la consommation en retard ; le reste à vivre ne couvre plus les "
            "courses du mois. {Il} a demandé de l'aide de {lui}-même, à {city}.",
        ),
        (
            "Dossier de surendettement déclaré recevable ; les remboursements sont suspendus. "
            "{Il} respire mieux et pense à une formation courte.",
            "Échéancier signé avec le bailleur et aide du fonds de solidarité logement accordée ; "
            "le budget tient depuis deux mois.",
        ),
        (
            "Faire le budget du mois ensemble : apporter les relevés de compte et les courriers "
            "des créanciers.",
            "Préparer le dossier de surendettement pour la Banque de France.",
            "Point sur l'accord avec le bailleur et le fonds de solidarité logement.",
        ),
        (
            "Budget établi avec la personne : le loyer et l'énergie passent en premier ; dossier "
            "de surendettement en préparation.",
            "Bailleur contacté avec l'accord de la personne : il accepte un échéancier si la "
            "dette ne s'aggrave pas.",
        ),
        (
            "Merci pour les documents. Prochaine étape : envoyer le dossier à la Banque de "
            "France ; nous le relirons ensemble avant l'envoi.",
            "Bravo pour les deux mois de budget tenus. Gardez bien les reçus de chaque paiement "
            "au bailleur.",
        ),
        ("Gêne visible quand on parle des dettes : avancer à son rythme, sans insister.",),
        aims=("K2204", "K1304", "G1501"),
    ),
    Story(
        "mobilite",
        ("sociale", "socio_professionnelle", "professionnelle", "jeune"),
        (
            ("mobilite", "Sans permis de conduire"),
            ("mobilite", "Lieu de vie mal desservi par les transports"),
            ("emploi", "Sans emploi depuis plus d'un an"),
        ),
        (
            PlanStep(
                "mobilite",
                "Obtenir le permis de conduire",
                ("Faire un bilan mobilité", "S'inscrire dans une auto-école sociale"),
            ),
            PlanStep(
                "mobilite",
                "Se déplacer pour travailler ou se former",
                (
                    "Louer un véhicule ou un deux-roues à tarif solidaire",
                    "Demander l'aide aux transports en commun",
                ),
            ),
            PlanStep(
                "trouver_emploi",
                "Signer un contrat de travail",
                ("Répondre à des offres d'emploi", "Rencontrer des employeurs lors d'un forum"),
            ),
        ),
        "le financement du permis et la location d'un deux-roues",
        (
            "Vit à {city}, {foyer}, sans permis ; le premier bus passe après l'heure "
            "d'embauche des entreprises de la zone. Des offres existent, encore faut-il s'y "
            "rendre.",
            "A perdu son emploi quand sa voiture est tombée en panne ; pas de permis valide "
            "depuis une suspension ancienne. {Il} vise la logistique, qui recrute autour de "
            "{city}.",
        ),
        (
            "Code de la route obtenu ; leçons de conduite en cours à l'auto-école sociale. Un "
            "scooter loué à tarif solidaire permet déjà d'accepter des missions.",
            "Bilan mobilité fait : location d'un deux-roues en attendant le permis. Deux "
            "entretiens décrochés à moins de vingt kilomètres de {city}.",
        ),
        (
            "Bilan mobilité : trajets possibles, horaires des bus, aides existantes.",
            "Dossier de financement du permis ; inscription à l'auto-école sociale.",
            "Point sur les offres d'emploi accessibles en scooter ou en transport en commun.",
        ),
        (
            "Bilan mobilité fait : pas de bus avant 7 h. Location d'un scooter solidaire "
            "envisagée le temps du permis.",
            "Inscription à l'auto-école sociale validée ; examen du code prévu dans six semaines.",
        ),
        (
            "Merci pour votre venue. Les horaires de votre ligne de bus sont dans vos "
            "documents ; gardez-les sous la main.",
            "Bonne nouvelle pour le code ! Prochaine étape : caler les leçons de conduite avec "
            "vos horaires.",
        ),
        ("Appréhension forte de la conduite : proposer d'abord des leçons sur circuit.",),
        aims=("N1103", "N1101", "N4105"),
    ),
    Story(
        "garde",
        ("sociale", "socio_professionnelle", "professionnelle"),
        (
            ("contraintes_familiales", "Enfant de moins de trois ans sans mode de garde"),
            ("contraintes_familiales", "Parent seul avec enfants à charge"),
            ("formation", "Projet de formation identifié sans financement"),
        ),
        (
            PlanStep(
                "contraintes_familiales",
                "Trouver un mode de garde",
                (
                    "Rencontrer le relais petite enfance",
                    "Inscrire son enfant en crèche ou chez une assistante maternelle",
                    "Demander le complément de libre choix du mode de garde",
                ),
            ),
            PlanStep(
                "formation",
                "Financer sa formation",
                (
                    "Ouvrir son compte personnel de formation",
                    "Monter le dossier de financement avec son conseiller",
                ),
            ),
        ),
        "la place en crèche et le financement de la formation",
        (
            "Parent seul à {city}, {foyer} ; le plus jeune n'a pas de place en crèche. Le "
            "projet de formation d'aide-soignant{e} attend un mode de garde.",
            "Élève seul{e} ses enfants à {city}, sans famille proche ; les horaires de l'école "
            "limitent toute recherche à temps plein.",
        ),
        (
            "Place trouvée chez une assistante maternelle à {city}, avec l'aide de la CAF ; la "
            "formation peut démarrer à la prochaine session.",
            "Le relais petite enfance a proposé deux solutions ; {il} a choisi une crèche "
            "associative. Le dossier de financement de la formation est déposé.",
        ),
        (
            "Point sur le mode de garde : crèche, assistante maternelle, aides de la CAF.",
            "Préparer le rendez-vous au relais petite enfance.",
            "Financement de la formation : compte personnel de formation et aides du Département.",
        ),
        (
            "Inscription en crèche déposée ; en attendant, une voisine garde l'enfant deux "
            "matinées par semaine.",
            "Complément de libre choix du mode de garde demandé : la garde chez l'assistante "
            "maternelle devient abordable.",
        ),
        (
            "Merci pour ce rendez-vous. Le relais petite enfance vous attend mardi à 10 h ; "
            "pensez au carnet de santé de votre enfant.",
            "Votre dossier de formation est complet : la réponse du financeur arrivera sous un "
            "mois.",
        ),
        (
            "Fatigue importante : rappeler les solutions de répit (halte-garderie, centre de "
            "loisirs).",
        ),
        needs_children=True,
        aims=("J1501", "K1302", "K1303"),
    ),
    Story(
        "langue",
        ("sociale", "socio_professionnelle", "professionnelle"),
        (
            ("maitrise_langue", "Difficultés à parler ou comprendre le français"),
            ("difficultes_administratives", "Courriers administratifs difficiles à comprendre"),
            ("formation", "Diplôme étranger non reconnu"),
        ),
        (
            PlanStep(
                "maitrise_langue",
                "Améliorer son français à l'oral",
                (
                    "Passer un test de positionnement linguistique",
                    "Suivre un atelier sociolinguistique",
                ),
            ),
            PlanStep(
                "formation",
                "Faire reconnaître son expérience",
                ("Préparer une validation des acquis de l'expérience",),
            ),
        ),
        "les cours de français et la reconnaissance du diplôme",
        (
            "Arrivé{e} en France il y a deux ans, {il} comprend le français du quotidien mais "
            "pas encore les courriers administratifs. Diplôme de comptabilité obtenu à "
            "l'étranger.",
            "Se débrouille à l'oral, l'écrit reste difficile. Installé{e} à {city}, {foyer}, "
            "{il} veut travailler dans la restauration.",
        ),
        (
            "Après trois mois d'atelier sociolinguistique, {il} prend seul{e} ses rendez-vous "
            "par téléphone. La demande de reconnaissance du diplôme est partie.",
            "Test de positionnement passé : niveau A2 à l'oral. Cours de français le matin, "
            "recherche d'un emploi à temps partiel l'après-midi.",
        ),
        (
            "Test de positionnement en français ; choix d'un atelier proche de chez vous.",
            "Lire ensemble les derniers courriers reçus (CAF, impôts, bailleur).",
            "Reconnaissance du diplôme obtenu à l'étranger : pièces à réunir.",
        ),
        (
            "Positionnement linguistique fait au centre de formation ; inscription à l'atelier "
            "sociolinguistique du lundi et du jeudi.",
            "Attestation de comparabilité du diplôme demandée ; traduction assermentée à prévoir.",
        ),
        (
            "Merci. L'atelier de français commence lundi à 9 h ; l'adresse est dans vos "
            "documents. Apportez un cahier.",
            "Vous avez fait de grands progrès à l'oral. Prochaine étape : un courrier que vous "
            "rédigerez vous-même.",
        ),
        (
            "Fait traduire ses courriers par un voisin : proposer un interprète pour les "
            "rendez-vous importants.",
        ),
        aims=("G1602", "G1605", "Reprendre le travail du cuir appris au pays (maroquinerie)"),
    ),
    Story(
        "numerique",
        ("sociale", "socio_professionnelle", "professionnelle", "jeune", "handicap"),
        (
            ("numerique", "Difficultés à utiliser les services en ligne"),
            ("numerique", "Pas d'équipement informatique ni de connexion"),
            ("preparer_candidature", "CV ou lettre de motivation à construire"),
        ),
        (
            PlanStep(
                "numerique",
                "Faire ses démarches en ligne",
                (
                    "Suivre un atelier numérique",
                    "Créer son adresse électronique et ses comptes en ligne",
                ),
            ),
            PlanStep(
                "numerique",
                "S'équiper pour le numérique",
                ("Obtenir un ordinateur reconditionné",),
            ),
            PlanStep(
                "preparer_candidature",
                "Présenter une candidature convaincante",
                ("Rédiger son CV", "Publier son profil sur le site de France Travail"),
            ),
        ),
        "les démarches en ligne et l'atelier numérique",
        (
            "Pas d'ordinateur et un téléphone ancien ; les déclarations trimestrielles sont "
            "faites par une voisine. {Il} vit à {city}, {foyer}, et veut gagner en autonomie.",
            "N'a jamais utilisé de messagerie électronique ; les démarches en ligne "
            "l'inquiètent au point de laisser des courriers sans réponse. Bonne volonté "
            "évidente.",
        ),
        (
            "Atelier numérique suivi jusqu'au bout : adresse électronique créée, espace CAF "
            "consulté avec l'aide de la médiathèque. Le CV est en cours.",
            "Ordinateur reconditionné obtenu ; {il} fait sa déclaration trimestrielle avec un "
            "coup de main de l'atelier et commence à répondre aux offres en ligne.",
        ),
        (
            "Créer ensemble votre adresse électronique et votre espace CAF.",
            "Point sur l'atelier numérique : ce qui est acquis, ce qui reste difficile.",
            "Préparer le CV sur ordinateur.",
        ),
        (
            "Inscription à l'atelier numérique de la médiathèque (six séances). Adresse "
            "électronique créée pendant l'entretien.",
            "Demande d'ordinateur reconditionné envoyée à l'association partenaire.",
        ),
        (
            "Votre adresse électronique fonctionne : gardez votre mot de passe dans un endroit "
            "sûr, jamais dans votre téléphone.",
            "Bravo pour la déclaration trimestrielle faite à l'atelier ! La prochaine fois, nous "
            "regarderons ensemble les offres en ligne.",
        ),
        ("Ne pas multiplier les identifiants d'un coup : une démarche en ligne à la fois.",),
        digital_progress=True,
        aims=("Médiatrice ou médiateur numérique dans une maison France services", "K2204"),
    ),
    Story(
        "reprise",
        ("sociale", "socio_professionnelle", "handicap"),
        (
            ("emploi", "Reprise d'activité après une longue interruption"),
            ("vie_sociale", "Perte de confiance en soi"),
            ("choisir_metier", "Métier antérieur impossible à reprendre"),
        ),
        (
            PlanStep(
                "vie_sociale",
                "Reprendre confiance en soi",
                (
                    "Participer à un atelier collectif de confiance en soi",
                    "S'engager dans une activité bénévole",
                ),
            ),
            PlanStep(
                "choisir_metier",
                "Définir son projet professionnel",
                (
                    "Réaliser un bilan de compétences",
                    "Faire une période de mise en situation en milieu professionnel",
                ),
            ),
        ),
        "la reprise progressive d'une activité et le bilan de compétences",
        (
            "Sans activité depuis quatre ans ; l'ancien métier de manutention n'est plus "
            "possible. {Il} doute de ses capacités mais souhaite avancer, depuis {city}.",
            "Quinze ans en cuisine collective avant une longue interruption ; le retour au même "
            "poste n'est plus envisageable. Souhaite un rythme progressif.",
        ),
        (
            "Atelier de confiance en soi terminé ; {il} est bénévole à l'épicerie solidaire de "
            "{city}. Le bilan de compétences oriente vers l'accueil du public.",
            "Une immersion de deux semaines à l'accueil d'une mairie s'est bien passée ; le "
            "projet se précise et le rythme tient.",
        ),
        (
            "Faire le point sur ce qui a changé depuis l'arrêt et sur vos envies.",
            "Atelier collectif de confiance en soi : en parler après la première séance.",
            "Préparer le bilan de compétences.",
        ),
        (
            "Orientation vers l'atelier collectif de confiance en soi (huit séances). Rythme "
            "progressif convenu avec la personne.",
            "Bénévolat commencé deux demi-journées par semaine : ponctualité et bon contact avec "
            "le public.",
        ),
        (
            "Merci pour votre franchise aujourd'hui. On avance à votre rythme : la prochaine "
            "étape est l'atelier du mardi.",
            "Le bilan de compétences commence le mois prochain ; la convocation vous arrivera "
            "par courrier.",
        ),
        ("Parle peu de sa santé : ne pas insister, le volet santé reste à son initiative.",),
        aims=("M1601", "M1606", "G1501"),
    ),
    Story(
        "emploi",
        ("professionnelle", "socio_professionnelle"),
        (
            ("preparer_candidature", "CV ou lettre de motivation à construire"),
            ("trouver_emploi", "Recherche d'emploi active sans résultat"),
            ("emploi", "Sans emploi depuis plus d'un an"),
        ),
        (
            PlanStep(
                "preparer_candidature",
                "Présenter une candidature convaincante",
                (
                    "Rédiger son CV",
                    "Préparer un entretien d'embauche",
                    "Publier son profil sur le site de France Travail",
                ),
            ),
            PlanStep(
                "trouver_emploi",
                "Signer un contrat de travail",
                ("Répondre à des offres d'emploi", "Rencontrer des employeurs lors d'un forum"),
            ),
            PlanStep(
                "emploi",
                "Retrouver un emploi durable",
                ("Réaliser une immersion en entreprise",),
            ),
        ),
        "les candidatures en logistique et le renouvellement du CACES",
        (
            "Quinze ans d'expérience en entrepôt, sans emploi depuis la fermeture du site ; "
            "beaucoup de candidatures sans réponse. Le CV date de dix ans.",
            "Cariste confirmé{e}, CACES à renouveler ; vit à {city}, {foyer}. Recherche active "
            "mais peu ciblée.",
        ),
        (
            "CV refait et CACES renouvelé ; deux entretiens obtenus en un mois. Une immersion "
            "est prévue dans un entrepôt de la zone nord.",
            "Profil publié sur le site de France Travail ; {il} a été rappelé{e} par deux "
            "agences d'intérim. Objectif : un contrat de plus de six mois.",
        ),
        (
            "Reprendre le CV ensemble ; apporter les certificats de travail.",
            "Préparer l'entretien d'embauche de la semaine prochaine.",
            "Bilan des candidatures envoyées ce mois-ci.",
        ),
        (
            "CV refait : les compétences de cariste sont mises en avant. Renouvellement du CACES "
            "financé par France Travail.",
            "Inscription au forum de l'emploi de Limoges ; trois employeurs de la logistique "
            "ciblés.",
        ),
        (
            "Voici votre CV mis à jour, déposé dans vos documents. Relisez-le et dites-moi si "
            "une expérience manque.",
            "Bonne chance pour l'entretien de mardi : pensez aux chaussures de sécurité et au "
            "CACES.",
        ),
        ("Découragement après plusieurs refus : valoriser chaque entretien obtenu.",),
        aims=("N1103", "N1101", "N4105", "H3302"),
    ),
    Story(
        "formation",
        ("professionnelle", "socio_professionnelle", "jeune"),
        (
            ("se_former", "Besoin de formation pour accéder au métier visé"),
            ("formation", "Sans diplôme ni qualification"),
            ("choisir_metier", "Projet professionnel à définir"),
        ),
        (
            PlanStep(
                "se_former",
                "Entrer en formation qualifiante",
                (
                    "Choisir une formation avec son conseiller",
                    "Passer les tests d'entrée en formation",
                ),
            ),
            PlanStep(
                "formation",
                "Financer sa formation",
                (
                    "Ouvrir son compte personnel de formation",
                    "Monter le dossier de financement avec son conseiller",
                ),
            ),
        ),
        "l'entrée en formation qualifiante et son financement",
        (
            "Sans diplôme, plusieurs contrats courts dans le nettoyage ; {il} veut un métier "
            "stable et pense à l'aide à domicile. Disponible dès la rentrée.",
            "A quitté l'école en troisième ; expériences en restauration à {city}. Souhaite un "
            "titre professionnel pour ne plus dépendre de l'intérim.",
        ),
        (
            "Tests d'entrée réussis ; la formation d'assistant{e} de vie aux familles commence "
            "le mois prochain au centre de formation.",
            "Formation choisie et financée par le Département ; l'entrée en session est fixée. "
            "Le RSA sera revu avec la rémunération de stage.",
        ),
        (
            "Choisir une formation : les métiers qui recrutent près de chez vous.",
            "Préparer les tests d'entrée (français, calcul, motivation).",
            "Dossier de financement de la formation.",
        ),
        (
            "Réunion d'information au centre de formation suivie ; intérêt confirmé pour le "
            "titre d'assistant de vie aux familles.",
            "Compte personnel de formation ouvert : 800 euros disponibles, complément du "
            "Département demandé.",
        ),
        (
            "Félicitations pour les tests ! La convocation pour l'entrée en formation vous sera "
            "envoyée par le centre.",
            "Pensez à apporter une pièce d'identité et une attestation de la CAF pour le dossier "
            "de financement.",
        ),
        (
            "Crainte de perdre le RSA pendant la formation : bien expliquer la rémunération "
            "de stage.",
        ),
        aims=("K1302", "K1304", "J1301", "F1703"),
    ),
    Story(
        "jeune",
        ("jeune",),
        (
            ("choisir_metier", "Projet professionnel à définir"),
            ("emploi", "Première expérience professionnelle à construire"),
            ("mobilite", "Sans permis de conduire"),
        ),
        (
            PlanStep(
                "choisir_metier",
                "Découvrir un métier",
                (
                    "Participer à un atelier de découverte des métiers",
                    "Faire une période de mise en situation en milieu professionnel",
                ),
            ),
            PlanStep(
                "mobilite",
                "Obtenir le permis de conduire",
                ("S'inscrire dans une auto-école sociale",),
            ),
            PlanStep(
                "preparer_candidature",
                "Présenter une candidature convaincante",
                ("Rédiger son CV",),
            ),
        ),
        "la découverte des métiers et le permis de conduire",
        (
            "Sorti{e} du lycée sans diplôme, quelques missions de manutention. Hésite entre la "
            "mécanique et la cuisine ; pas de permis, vit chez ses parents à {city}.",
            "Après une année de BTS abandonnée, {il} cherche sa voie. Motivé{e} mais sans "
            "réseau ; souhaite une alternance près de {city}.",
        ),
        (
            "Deux périodes de mise en situation faites (garage, cuisine centrale) : la cuisine "
            "l'emporte. Recherche d'un apprentissage en cours.",
            "Code obtenu avec l'aide au permis ; CV terminé. {Il} a un entretien pour un "
            "contrat d'apprentissage en boulangerie.",
        ),
        (
            "Faire connaissance : parcours, envies, contraintes.",
            "Atelier de découverte des métiers : ce que vous en avez retenu.",
            "Préparer une période de mise en situation en entreprise.",
        ),
        (
            "Atelier de découverte des métiers suivi avec intérêt ; deux secteurs retenus : "
            "mécanique et restauration.",
            "Convention de mise en situation signée avec un garage pour deux semaines.",
        ),
        (
            "Merci pour votre venue. La liste des entreprises qui prennent des apprentis en "
            "cuisine est dans vos documents.",
            "Bravo pour le code ! On prévoit ensemble le financement des heures de conduite.",
        ),
        (
            "Peu à l'aise en groupe mais très à l'aise en situation de travail : privilégier "
            "les immersions.",
        ),
        aims=("J1304", "F1602", "G1803", "D1106", "D1102", "I1604"),
    ),
    Story(
        "creation",
        ("professionnelle", "socio_professionnelle"),
        (
            ("creer_entreprise", "Idée de création ou de reprise d'entreprise"),
            ("difficultes_financieres", "Reste à vivre insuffisant"),
        ),
        (
            PlanStep(
                "creer_entreprise",
                "Tester et lancer son activité",
                (
                    "Rencontrer un organisme d'aide à la création",
                    "Rejoindre une couveuse ou une coopérative d'activité",
                    "Construire son plan de financement",
                ),
            ),
            PlanStep(
                "difficultes_financieres",
                "Équilibrer son budget",
                ("Établir un budget avec une conseillère",),
            ),
        ),
        "le test de l'activité en couveuse et le plan de financement",
        (
            "Projet de traiteur à domicile mûri depuis longtemps ; {il} cuisine déjà pour des "
            "fêtes de famille à {city}. Pas encore d'étude de marché ni de chiffrage.",
            "Souhaite ouvrir une activité de couture et de retouches à {city} ; expérience en "
            "atelier, clientèle à construire.",
        ),
        (
            "Entrée en couveuse d'entreprises : l'activité est testée sans créer de structure. "
            "Premières factures émises, le chiffre d'affaires reste modeste.",
            "Plan de financement bouclé avec un prêt d'honneur ; immatriculation prévue le mois "
            "prochain. Le RSA sera revu avec les premiers revenus.",
        ),
        (
            "Présentation du projet : activité, clientèle, premiers chiffres.",
            "Rendez-vous avec l'organisme d'aide à la création : préparer les questions.",
            "Plan de financement et statut juridique.",
        ),
        (
            "Projet présenté à la boutique de gestion ; orientation vers la couveuse pour "
            "tester l'activité six mois.",
            "Premières ventes réalisées en couveuse ; suivi comptable assuré par la coopérative.",
        ),
        (
            "Merci pour la présentation de votre projet. Pour la boutique de gestion, apportez "
            "vos recettes et vos prix.",
            "Votre plan de financement tient la route. Prochaine étape : la banque, avec le "
            "prêt d'honneur en appui.",
        ),
        ("Enthousiasme réel ; vérifier que les revenus du test suffisent pour le foyer.",),
        aims=("Ouvrir un camion de cuisine créole sur les marchés", "D1202"),
    ),
    Story(
        "administratif",
        ("sociale",),
        (
            ("difficultes_administratives", "Papiers d'identité ou titre de séjour à renouveler"),
            ("difficultes_administratives", "Droits sociaux non ouverts ou interrompus"),
            ("numerique", "Difficultés à utiliser les services en ligne"),
        ),
        (
            PlanStep(
                "difficultes_administratives",
                "Mettre à jour ses papiers",
                ("Prendre rendez-vous en préfecture ou en mairie",),
            ),
            PlanStep(
                "difficultes_administratives",
                "Ouvrir tous ses droits",
                (
                    "Faire le point sur ses droits avec un travailleur social",
                    "Se faire accompagner à France Services",
                ),
            ),
        ),
        "le renouvellement des papiers et l'ouverture des droits",
        (
            "Titre de séjour expiré depuis deux mois faute de rendez-vous en préfecture ; les "
            "droits CAF risquent d'être suspendus. Vit à {city}, {foyer}.",
            "Carte d'identité perdue lors d'un déménagement : sans elle, ni banque ni "
            "inscription possible. La complémentaire santé n'a jamais été demandée.",
        ),
        (
            "Récépissé de demande de titre de séjour obtenu ; la CAF a maintenu les droits. La "
            "recherche d'emploi peut reprendre.",
            "Nouvelle carte d'identité reçue ; compte bancaire rouvert et droits mis à jour avec "
            "France Services.",
        ),
        (
            "Faire la liste des papiers à jour et de ceux à renouveler.",
            "Préparer le rendez-vous en préfecture : pièces à réunir.",
            "Point sur les droits CAF et la complémentaire santé solidaire.",
        ),
        (
            "Rendez-vous en préfecture obtenu par France Services ; dossier complet vérifié "
            "ensemble.",
            "Attestation de dépôt transmise à la CAF : pas d'interruption des droits.",
        ),
        (
            "La liste des pièces pour la préfecture est dans vos documents ; cochez-les au fur "
            "et à mesure.",
            "Votre récépissé est valable trois mois : gardez-en une copie sur vous.",
        ),
        ("Inquiétude forte avant la préfecture : proposer un accompagnement par France Services.",),
        aims=("K2204", "G1605"),
    ),
    Story(
        "isolement",
        ("sociale", "handicap"),
        (
            ("vie_sociale", "Isolement social"),
            ("mobilite", "Lieu de vie mal desservi par les transports"),
            ("vie_sociale", "Perte de confiance en soi"),
        ),
        (
            PlanStep(
                "vie_sociale",
                "Rompre l'isolement",
                (
                    "Participer à une sortie culturelle",
                    "S'engager dans une activité bénévole",
                    "S'inscrire dans un club de sport",
                ),
            ),
            PlanStep(
                "mobilite",
                "Se déplacer pour travailler ou se former",
                ("Demander l'aide aux transports en commun",),
            ),
        ),
        "la sortie de l'isolement par le bénévolat et les sorties du centre social",
        (
            "Vit seul{e} dans un hameau près de {city}, sans voiture ; peu de contacts depuis "
            "le décès d'un parent. Souhaite voir du monde avant de parler d'emploi.",
            "Depuis la perte de son emploi, {il} sort peu et a perdu le contact avec ses "
            "anciens collègues. Journées sans rythme ; l'idée d'une activité collective lui "
            "plaît.",
        ),
        (
            "Bénévole deux après-midi par semaine à la ressourcerie ; {il} a repris un rythme "
            "et parle d'un emploi dans le réemploi.",
            "Inscrit{e} au club de randonnée de la commune ; les sorties du centre social ont "
            "redonné confiance.",
        ),
        (
            "Parler de vos journées, de ce qui vous ferait du bien.",
            "Activités proches de chez vous : bénévolat, sport, culture.",
            "Retour sur les premières sorties.",
        ),
        (
            "Sortie au musée avec le centre social appréciée ; la personne demande à participer "
            "à la suivante.",
            "Contact pris avec la ressourcerie pour du bénévolat ; transport assuré par une "
            "navette associative.",
        ),
        (
            "Merci d'être venu{e}. Le programme des sorties du centre social est dans vos "
            "documents ; inscrivez-vous à celle qui vous tente.",
            "Très bonne nouvelle que le bénévolat se passe bien ! On en reparle au prochain "
            "rendez-vous.",
        ),
        ("Moral bas en fin d'entretien : proposer un appel dans quinze jours.",),
        aims=("Réparer des vélos dans un atelier solidaire", "A1203"),
    ),
    Story(
        "handicap",
        ("handicap",),
        (
            ("choisir_metier", "Métier antérieur impossible à reprendre"),
            ("emploi", "Reprise d'activité après une longue interruption"),
            ("formation", "Sans diplôme ni qualification"),
        ),
        (
            PlanStep(
                "choisir_metier",
                "Définir son projet professionnel",
                (
                    "Réaliser un bilan de compétences",
                    "Faire une période de mise en situation en milieu professionnel",
                ),
            ),
            PlanStep(
                "trouver_emploi",
                "Signer un contrat de travail",
                (
                    "Candidater dans une structure d'insertion par l'activité économique",
                    "Répondre à des offres d'emploi",
                ),
            ),
        ),
        "un projet compatible avec la reconnaissance de travailleur handicapé",
        (
            "Après vingt ans dans le bâtiment, le port de charges n'est plus possible ; "
            "reconnaissance de travailleur handicapé obtenue. Cherche un poste adapté près de "
            "{city}.",
            "Reconnaissance de travailleur handicapé en cours de renouvellement ; {il} souhaite "
            "un emploi à temps partiel, assis, dans l'accueil ou la saisie.",
        ),
        (
            "Bilan de compétences terminé : l'accueil et la préparation de commandes légères "
            "sont retenus. Une mise en situation en entreprise adaptée est prévue.",
            "Poste aménagé trouvé en entreprise adaptée à mi-temps ; le maintien dans l'emploi "
            "sera suivi avec l'employeur.",
        ),
        (
            "Point sur les contraintes de poste et sur les métiers possibles.",
            "Bilan de compétences : premiers résultats.",
            "Candidatures en entreprise adaptée : préparer l'entretien.",
        ),
        (
            "Contraintes de poste prises en compte (pas de port de charges) ; orientation vers "
            "un bilan de compétences.",
            "Mise en situation de deux semaines en entreprise adaptée validée ; bilan très "
            "positif de l'employeur.",
        ),
        (
            "Merci pour ce rendez-vous. Le bilan de compétences commence lundi ; l'adresse est "
            "dans vos documents.",
            "Félicitations pour la mise en situation ! L'entreprise adaptée souhaite vous revoir.",
        ),
        ("Fatigable en fin de journée : privilégier les rendez-vous le matin.",),
        aims=("M1607", "M1601", "M1606", "J1301"),
    ),
)
BY_KEY = {story.key: story for story in STORIES}

# Said at the first appointment, whatever the story.
FIRST_TOPICS = (
    "Premier rendez-vous : faire connaissance, vos droits et devoirs, vos priorités.",
    "Premier entretien : votre parcours, votre situation, ce que vous attendez de "
    "l'accompagnement.",
)
GENERIC_TOPICS = (
    "Bilan des démarches du mois et prochaines étapes.",
    "Faire le point ensemble sur le plan d'action.",
)
COLLECTIVE_TOPICS = (
    "Information collective : droits et devoirs des bénéficiaires du RSA.",
    "Atelier collectif : préparer sa candidature (CV, lettre, entretien).",
    "Atelier collectif : faire ses démarches en ligne.",
)
TRIPARTITE_TOPIC = "Rendez-vous à trois avec {partner} ({organisation}) : point sur {focus}."
RESUME_TOPIC = "Reprendre contact : point sur la situation et les démarches en attente."
ABSENT_NOTE = "Absence au rendez-vous, sans nouvelles ; un courrier propose une nouvelle date."
EXCUSED_NOTE = (
    "Rendez-vous excusé : la personne a prévenu la veille ; nouvelle date fixée ensemble."
)
HANDOVER_NOTE = (
    "Passage de relais : {organisation} reprend l'accompagnement. En cours : {focus}. La "
    "personne est informée et d'accord."
)
# What a partner of the group (not the référent) discusses and writes, by organisation kind.
PARTNER_TOPICS = {
    "plie": "Entretien PLIE : étapes du parcours vers l'emploi.",
    "siae": "Entretien au chantier d'insertion : bilan du contrat et de l'accompagnement.",
    "association": "Entretien logement : suivi de la demande et des visites.",
    "organisme_formation": "Entretien de suivi de formation : assiduité, progrès, suite du "
    "parcours.",
    "sante": "Rendez-vous de suivi.",
}
PARTNER_NOTES = {
    "plie": "Entrée dans le PLIE validée ; étapes du parcours définies avec la personne et son "
    "référent.",
    "siae": "Contrat au chantier d'insertion : assiduité régulière, bonne entente avec l'équipe.",
    "association": "Visite d'un logement prévue avec la personne ; dossier du bailleur complet.",
    "organisme_formation": "Assiduité régulière en formation ; progrès nets à l'écrit.",
}
# The bulk seeder's few words (`carnet seed`: one topic per appointment, one note of each
# visibility per person).
MEETING_TOPICS = (
    "Point sur la recherche de logement et la demande auprès du bailleur social.",
    "Préparer le dossier d'entrée en formation ; apporter le dernier diplôme.",
    "Faire le point sur la garde des enfants et les horaires possibles.",
    "Bilan du mois : démarches faites, prochaines étapes.",
)
MEETING_NOTES = {
    NoteVisibility.PRIVATE: "Impression à vérifier au prochain entretien : fatigue visible.",
    NoteVisibility.GROUP: "Démarches avancées : dossier CAF à jour, inscription à l'atelier CV.",
    NoteVisibility.SHARED: "Merci pour votre venue. Prochaine étape : envoyer deux candidatures.",
}
# Appended to a summary that another person's already reads the same (never twice alike).
SUMMARY_ENDINGS = (
    "Rendez-vous mensuel convenu.",
    "Préfère être joint{e} par SMS.",
    "Disponible le matin seulement.",
    "Très investi{e} dans les démarches.",
    "Souhaite avancer vite.",
    "Ponctuel{le} aux rendez-vous.",
    "A besoin d'écrits pour retenir les étapes.",
    "Entourage présent et aidant.",
    "Disponible à temps plein dès que possible.",
    "Attenti{ve} aux délais annoncés.",
    "Premières démarches faites sans attendre.",
    "Demande des rendez-vous en fin de matinée.",
)


class Words(dict[str, str]):
    """The person's words for the texts' fields."""

    def __init__(self, person: Beneficiary) -> None:
        female = person.sex == Sex.FEMALE
        count = person.dependants or 0
        if count == 0:
            foyer = "sans enfant à charge"
        elif count == 1:
            foyer = "avec un enfant à charge"
        else:
            foyer = f"avec {NUMBERS[min(count, len(NUMBERS) - 1)]} enfants à charge"
        super().__init__(
            e="e" if female else "",
            le="le" if female else "",
            ve="ve" if female else "f",
            il="elle" if female else "il",
            Il="Elle" if female else "Il",
            lui="elle" if female else "lui",
            city=person.city or "Limoges",
            foyer=foyer,
        )

    def __call__(self, text: str, **more: str) -> str:
        return text.format_map({**self, **more})


def fits(story: Story, situation: str, dependants: int, autonomy: DigitalAutonomy) -> bool:
    """Whether a person of this accompaniment, with this many children and this digital
    autonomy today, may live it."""
    if situation not in story.situations:
        return False
    if story.digital_progress and autonomy is not DigitalAutonomy.NEEDS_HELP:
        return False
    return not story.needs_children or dependants > 0
