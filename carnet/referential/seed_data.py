"""The referential every département starts with: data only, in our own words.

`carnet.referential.services.seed_referential` turns it into rows; each département then
edits its copy. One tuple per theme: code, label, aim, OARSA category, whether it is one
of France Travail's themes, then the situations, objective templates and action templates.
"""

from __future__ import annotations

from dataclasses import dataclass

from carnet.referential.models import Aim, OarsaCategory

S = Aim.SOCIAL
P = Aim.PROFESSIONAL
O = OarsaCategory  # noqa: E741 - a short alias keeps the table readable


@dataclass(frozen=True)
class ThemeSeed:
    code: str
    label: str
    aim: Aim
    oarsa: OarsaCategory
    is_france_travail: bool
    situations: tuple[str, ...]
    objectives: tuple[str, ...]
    actions: tuple[str, ...]


THEMES: tuple[ThemeSeed, ...] = (
    ThemeSeed(
        "logement",
        "Logement",
        S,
        O.LOGEMENT,
        False,
        (
            "Sans logement ou hébergé·e en urgence",
            "Hébergé·e chez un proche",
            "Logement trop petit, insalubre ou trop cher",
            "Impayés de loyer ou menace d'expulsion",
        ),
        (
            "Accéder à un logement stable",
            "Se maintenir dans son logement",
            "Réduire le coût du logement",
        ),
        (
            "Déposer une demande de logement social",
            "Constituer le dossier du fonds de solidarité logement",
            "Rencontrer une conseillère en économie sociale et familiale",
            "Faire une demande d'aide au logement auprès de la CAF",
        ),
    ),
    ThemeSeed(
        "emploi",
        "Emploi",
        P,
        O.RECHERCHE_EMPLOI,
        False,
        (
            "Sans emploi depuis plus d'un an",
            "Emploi à temps partiel subi",
            "Première expérience professionnelle à construire",
            "Reprise d'activité après une longue interruption",
        ),
        (
            "Retrouver un emploi durable",
            "Augmenter son temps de travail",
            "Reprendre une activité par une étape d'insertion",
        ),
        (
            "Réaliser une immersion en entreprise",
            "Entrer dans un chantier d'insertion",
            "Participer à un job dating",
            "S'inscrire dans une agence d'intérim d'insertion",
        ),
    ),
    ThemeSeed(
        "formation",
        "Formation",
        P,
        O.FORMATION,
        False,
        (
            "Sans diplôme ni qualification",
            "Diplôme étranger non reconnu",
            "Projet de formation identifié sans financement",
        ),
        (
            "Obtenir une qualification",
            "Faire reconnaître son expérience",
            "Financer sa formation",
        ),
        (
            "Ouvrir son compte personnel de formation",
            "Préparer une validation des acquis de l'expérience",
            "S'inscrire à une session d'information d'un organisme de formation",
            "Monter le dossier de financement avec son conseiller",
        ),
    ),
    ThemeSeed(
        "difficultes_administratives",
        "Difficultés administratives",
        S,
        O.ACCES_DROITS,
        False,
        (
            "Papiers d'identité ou titre de séjour à renouveler",
            "Droits sociaux non ouverts ou interrompus",
            "Courriers administratifs difficiles à comprendre",
        ),
        (
            "Ouvrir tous ses droits",
            "Mettre à jour ses papiers",
            "Gagner en autonomie dans ses démarches",
        ),
        (
            "Prendre rendez-vous en préfecture ou en mairie",
            "Faire le point sur ses droits avec un travailleur social",
            "Se faire accompagner à France Services",
            "Déclarer ses ressources trimestrielles",
        ),
    ),
    ThemeSeed(
        "difficultes_financieres",
        "Difficultés financières",
        S,
        O.FINANCES,
        False,
        (
            "Dettes ou crédits en retard",
            "Reste à vivre insuffisant",
            "Compte bancaire fermé ou interdit bancaire",
        ),
        (
            "Équilibrer son budget",
            "Traiter ses dettes",
            "Retrouver un accès aux services bancaires",
        ),
        (
            "Établir un budget avec une conseillère",
            "Déposer un dossier de surendettement",
            "Demander une aide financière ponctuelle",
            "Ouvrir un compte au titre du droit au compte",
        ),
    ),
    ThemeSeed(
        "mobilite",
        "Mobilité",
        S,
        O.MOBILITE,
        False,
        (
            "Sans permis de conduire",
            "Sans véhicule ou véhicule en panne",
            "Lieu de vie mal desservi par les transports",
        ),
        (
            "Se déplacer pour travailler ou se former",
            "Obtenir le permis de conduire",
        ),
        (
            "Faire un bilan mobilité",
            "S'inscrire dans une auto-école sociale",
            "Louer un véhicule ou un deux-roues à tarif solidaire",
            "Demander l'aide aux transports en commun",
        ),
    ),
    ThemeSeed(
        "sante",
        "Santé",
        S,
        O.SANTE,
        False,
        (
            "Problème de santé qui limite l'activité",
            "Pas de médecin traitant",
            "Couverture santé absente ou incomplète",
        ),
        (
            "Prendre soin de sa santé",
            "Adapter son projet à sa santé",
            "Ouvrir ses droits à la couverture santé",
        ),
        (
            "Faire un bilan de santé",
            "Trouver un médecin traitant",
            "Demander la complémentaire santé solidaire",
            "Déposer une demande de reconnaissance de travailleur handicapé",
        ),
    ),
    ThemeSeed(
        "contraintes_familiales",
        "Contraintes familiales (garde d'enfants)",
        S,
        O.FAMILLE,
        False,
        (
            "Enfant de moins de trois ans sans mode de garde",
            "Parent seul avec enfants à charge",
            "Proche dépendant à accompagner",
        ),
        (
            "Trouver un mode de garde",
            "Concilier vie familiale et activité",
        ),
        (
            "Inscrire son enfant en crèche ou chez une assistante maternelle",
            "Rencontrer le relais petite enfance",
            "Demander le complément de libre choix du mode de garde",
            "Se renseigner sur les aides aux aidants",
        ),
    ),
    ThemeSeed(
        "maitrise_langue",
        "Maîtrise de la langue",
        S,
        O.SAVOIRS_DE_BASE,
        False,
        (
            "Difficultés à parler ou comprendre le français",
            "Difficultés à lire ou écrire",
        ),
        (
            "Améliorer son français à l'oral",
            "Lire et écrire au quotidien",
        ),
        (
            "Passer un test de positionnement linguistique",
            "Suivre un atelier sociolinguistique",
            "S'inscrire à une formation aux savoirs de base",
        ),
    ),
    ThemeSeed(
        "numerique",
        "Numérique",
        S,
        O.SAVOIRS_DE_BASE,
        False,
        (
            "Pas d'équipement informatique ni de connexion",
            "Difficultés à utiliser les services en ligne",
        ),
        (
            "Faire ses démarches en ligne",
            "S'équiper pour le numérique",
        ),
        (
            "Suivre un atelier numérique",
            "Créer son adresse électronique et ses comptes en ligne",
            "Obtenir un ordinateur reconditionné",
        ),
    ),
    ThemeSeed(
        "vie_sociale",
        "Vie sociale, culture et sport",
        S,
        O.LIEN_SOCIAL,
        False,
        (
            "Isolement social",
            "Perte de confiance en soi",
        ),
        (
            "Rompre l'isolement",
            "Reprendre confiance en soi",
        ),
        (
            "S'engager dans une activité bénévole",
            "Participer à une sortie culturelle",
            "S'inscrire dans un club de sport",
            "Participer à un atelier collectif de confiance en soi",
        ),
    ),
    ThemeSeed(
        "choisir_metier",
        "Choisir un métier",
        P,
        O.RECHERCHE_EMPLOI,
        True,
        (
            "Projet professionnel à définir",
            "Métier antérieur impossible à reprendre",
        ),
        (
            "Définir son projet professionnel",
            "Découvrir un métier",
        ),
        (
            "Réaliser un bilan de compétences",
            "Faire une période de mise en situation en milieu professionnel",
            "Participer à un atelier de découverte des métiers",
        ),
    ),
    ThemeSeed(
        "se_former",
        "Se former",
        P,
        O.FORMATION,
        True,
        ("Besoin de formation pour accéder au métier visé",),
        ("Entrer en formation qualifiante",),
        (
            "Choisir une formation avec son conseiller",
            "Passer les tests d'entrée en formation",
        ),
    ),
    ThemeSeed(
        "preparer_candidature",
        "Préparer sa candidature",
        P,
        O.RECHERCHE_EMPLOI,
        True,
        ("CV ou lettre de motivation à construire",),
        ("Présenter une candidature convaincante",),
        (
            "Rédiger son CV",
            "Préparer un entretien d'embauche",
            "Publier son profil sur le site de France Travail",
        ),
    ),
    ThemeSeed(
        "trouver_emploi",
        "Trouver un emploi",
        P,
        O.IAE,
        True,
        ("Recherche d'emploi active sans résultat",),
        ("Signer un contrat de travail",),
        (
            "Répondre à des offres d'emploi",
            "Candidater dans une structure d'insertion par l'activité économique",
            "Rencontrer des employeurs lors d'un forum",
        ),
    ),
    ThemeSeed(
        "creer_entreprise",
        "Créer une entreprise",
        P,
        O.CREATION_ENTREPRISE,
        True,
        ("Idée de création ou de reprise d'entreprise",),
        ("Tester et lancer son activité",),
        (
            "Rencontrer un organisme d'aide à la création",
            "Rejoindre une couveuse ou une coopérative d'activité",
            "Construire son plan de financement",
        ),
    ),
    ThemeSeed(
        "international",
        "S'ouvrir à l'international",
        P,
        O.RECHERCHE_EMPLOI,
        True,
        ("Projet de travail ou de formation à l'étranger",),
        ("Préparer une expérience à l'étranger",),
        (
            "S'informer sur la mobilité européenne",
            "Améliorer une langue étrangère",
        ),
    ),
)
